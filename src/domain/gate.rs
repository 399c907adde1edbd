//! The gate every write by a rater passes: a label, an edit, a skip or a problem report.
//!
//! The rules live here, once, as plain functions over facts that the store reads inside the
//! write's own transaction (so nothing can change between the check and the write). `next`
//! asks the same rater-level questions before it hands out an item; a write asks them again,
//! together with the item-level ones, so a rater who never asked `next`, or who was paused
//! in between, cannot label anyway.

use super::policy::{Policy, Pool};
use super::project::Project;

/// What a rater is trying to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Label,
    /// A rater changes their own label within the project's edit window.
    Edit,
    Skip,
    Report,
}

/// Where a rater stands with a project's qualification set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QualificationState {
    /// The project asks for none, or the rater passed (or an admin vouched for them).
    Cleared,
    /// Questions are left: only qualification questions may be answered.
    Pending,
    /// The rater did not pass; the reason says by how much.
    Failed(String),
}

/// A rater's standing in a project at the moment of the write.
#[derive(Debug, Clone)]
pub struct RaterFacts {
    pub pool: Pool,
    pub expertise: Vec<String>,
    /// Why the rater is paused in this project, when they are.
    pub paused: Option<String>,
    pub qualification: QualificationState,
}

/// Whether this rater holds the item, as `next` handed it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// `next` never handed this item to this rater (or the hold was used up).
    None,
    /// A live lease.
    Live,
    /// A lease that ran out; it is honoured while the rater's pool still has a free slot.
    Expired,
}

/// An item at the moment of the write.
#[derive(Debug, Clone)]
pub struct ItemFacts {
    pub id: i64,
    pub is_gold: bool,
    pub is_qualification: bool,
    /// Held back for review after problem reports.
    pub held: bool,
    pub hold: Hold,
    /// Labels the rater's pool still wants, minus live leases of other raters of that pool.
    pub free_slots: i64,
    /// When this rater labelled the item, if they did.
    pub labelled_at: Option<i64>,
    /// Whether the project is archived now, read inside the write.
    pub project_archived: bool,
    /// The project's settings revision now; a write checked against another is refused.
    pub project_revision: i64,
}

/// Why a write was refused: 403 when it is about the rater, 409 when about the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Forbidden(String),
    Conflict(String),
}

/// Where a rater stands with the qualification set, from their record: `qualified` is set
/// when they passed (or an admin vouched for them), `seen` and `correct` count their answers
/// to the `total` questions.
pub fn qualification_state(
    policy: &Policy,
    qualified: bool,
    seen: i64,
    correct: i64,
    total: i64,
) -> QualificationState {
    let Some(needed) = policy.qualify_accuracy else {
        return QualificationState::Cleared;
    };
    if qualified || total == 0 {
        return QualificationState::Cleared;
    }
    match policy.qualification_outcome(total, seen, correct) {
        Some(false) => QualificationState::Failed(failed_reason(correct, total, needed)),
        Some(true) => QualificationState::Cleared,
        None => QualificationState::Pending,
    }
}

/// Why a rater failed the qualification.
pub fn failed_reason(correct: i64, total: i64, needed: f64) -> String {
    format!(
        "did not pass the qualification: {correct} of {total} right, {:.0}% needed",
        needed * 100.0
    )
}

/// Who may work on a project besides its own link users: named raters and whole pools.
/// With neither, the project is open to every rater (the pools it asks labels from decide
/// what they are handed).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Membership {
    pub pools: Vec<Pool>,
    /// Whether the project names any rater.
    pub names_anyone: bool,
    /// Whether it names this rater.
    pub names_rater: bool,
}

impl Membership {
    pub fn is_open(&self) -> bool {
        self.pools.is_empty() && !self.names_anyone
    }
}

/// May this account work on this project at all? An account made by a project's link works
/// on that project only; other raters need the project to be open or to list them (by name
/// or by pool). Checked once, where a request becomes a rater of a project.
pub fn may_join(
    project_id: i64,
    scope_project: Option<i64>,
    pool: Pool,
    membership: &Membership,
) -> Result<(), Refusal> {
    if let Some(scope) = scope_project {
        return if scope == project_id {
            Ok(())
        } else {
            Err(Refusal::Forbidden(
                "this account works on another project".into(),
            ))
        };
    }
    if membership.is_open() || membership.names_rater || membership.pools.contains(&pool) {
        return Ok(());
    }
    Err(Refusal::Forbidden(
        "you are not a member of this project; ask its admin to add you".into(),
    ))
}

/// Why raters may not work on an archived project.
pub const ARCHIVED: &str =
    "this project is archived: it takes no labels until an admin restores it";

/// May raters work on this project at all? An archived project is closed to every rater.
/// Asked where a request becomes a rater of a project (the extractor), and again by every
/// write with the project's state read inside the write's transaction.
pub fn admit_project(archived: bool) -> Result<(), Refusal> {
    if archived {
        Err(Refusal::Forbidden(ARCHIVED.into()))
    } else {
        Ok(())
    }
}

/// May this rater work on this project at all? Asked by `next` and by every write.
pub fn admit_rater(project: &Project, rater: &RaterFacts) -> Result<(), Refusal> {
    if let Some(reason) = &rater.paused {
        return Err(Refusal::Forbidden(reason.clone()));
    }
    let wanted = &project.policy.expertise;
    if rater.pool == Pool::Expert && !wanted.iter().all(|tag| rater.expertise.contains(tag)) {
        return Err(Refusal::Forbidden(format!(
            "this project needs the expertise: {}",
            wanted.join(", ")
        )));
    }
    if let QualificationState::Failed(reason) = &rater.qualification {
        return Err(Refusal::Forbidden(reason.clone()));
    }
    Ok(())
}

/// May this rater make this write on this item at `now`?
pub fn admit_write(
    project: &Project,
    rater: &RaterFacts,
    item: &ItemFacts,
    write: Write,
    now: i64,
) -> Result<(), Refusal> {
    admit_project(item.project_archived)?;
    if item.project_revision != project.revision {
        return Err(Refusal::Conflict(
            "the project's settings changed while this was being saved; send it again".into(),
        ));
    }
    admit_rater(project, rater)?;
    if rater.qualification == QualificationState::Pending && !item.is_qualification {
        return Err(Refusal::Forbidden(
            "answer the qualification questions first; ask for the next item".into(),
        ));
    }
    if write == Write::Edit {
        return admit_edit(project, item, now);
    }
    if item.labelled_at.is_some() {
        return Err(Refusal::Conflict(format!(
            "you have already labelled item {}",
            item.id
        )));
    }
    if item.hold == Hold::None {
        return Err(Refusal::Conflict(format!(
            "item {} was not handed to you; ask for the next item and answer that one",
            item.id
        )));
    }
    if write != Write::Label {
        return Ok(());
    }
    if item.held {
        return Err(Refusal::Conflict(format!(
            "item {} is held back for review after problem reports",
            item.id
        )));
    }
    let has_slots = !item.is_gold && !item.is_qualification;
    if has_slots && item.free_slots <= 0 {
        let why = match item.hold {
            Hold::Expired => " (your hold on it expired and the slot passed to another rater)",
            _ => "",
        };
        return Err(Refusal::Conflict(format!(
            "item {} already has all the labels it needs from your pool{why}",
            item.id
        )));
    }
    Ok(())
}

/// A rater may change their own label while the project's edit window is open, except a
/// qualification answer (its right answer has been shown) and an item held back since.
fn admit_edit(project: &Project, item: &ItemFacts, now: i64) -> Result<(), Refusal> {
    let Some(labelled_at) = item.labelled_at else {
        return Err(Refusal::Conflict(format!(
            "you have not labelled item {}, so there is nothing to change",
            item.id
        )));
    };
    if item.is_qualification {
        return Err(Refusal::Conflict(
            "a qualification answer cannot be changed once its right answer was shown".into(),
        ));
    }
    let window = project.presentation.edit_window_seconds;
    if now.saturating_sub(labelled_at) > window.saturating_mul(1000) {
        return Err(Refusal::Conflict(format!(
            "the {window} s in which a label can be changed have passed"
        )));
    }
    if item.held {
        return Err(Refusal::Conflict(format!(
            "item {} is held back for review after problem reports",
            item.id
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::project::NewProject;

    fn project(expertise: &[&str]) -> Project {
        let mut new = NewProject::simple("p", &["a", "b"], 1, "");
        new.expertise = Some(expertise.iter().map(|t| t.to_string()).collect());
        Project::from_spec(1, new.validate().unwrap())
    }

    fn rater() -> RaterFacts {
        RaterFacts {
            pool: Pool::Generalist,
            expertise: Vec::new(),
            paused: None,
            qualification: QualificationState::Cleared,
        }
    }

    fn item(hold: Hold) -> ItemFacts {
        ItemFacts {
            id: 7,
            is_gold: false,
            is_qualification: false,
            held: false,
            hold,
            free_slots: 1,
            labelled_at: None,
            project_archived: false,
            project_revision: 1,
        }
    }

    fn refused(result: Result<(), Refusal>) -> Refusal {
        result.expect_err("the write should be refused")
    }

    #[test]
    fn a_live_hold_with_a_free_slot_passes() {
        let p = project(&[]);
        assert_eq!(
            admit_write(&p, &rater(), &item(Hold::Live), Write::Label, 0),
            Ok(())
        );
        assert_eq!(
            admit_write(&p, &rater(), &item(Hold::Expired), Write::Label, 0),
            Ok(()),
            "an expired lease is honoured while its slot is free"
        );
    }

    #[test]
    fn an_archived_or_changed_project_refuses_every_write() {
        let p = project(&[]);
        let mut archived = item(Hold::Live);
        archived.project_archived = true;
        for write in [Write::Label, Write::Edit, Write::Skip, Write::Report] {
            assert_eq!(
                refused(admit_write(&p, &rater(), &archived, write, 0)),
                Refusal::Forbidden(ARCHIVED.into())
            );
        }
        let mut changed = item(Hold::Live);
        changed.project_revision = 2;
        assert!(matches!(
            refused(admit_write(&p, &rater(), &changed, Write::Label, 0)),
            Refusal::Conflict(reason) if reason.contains("settings changed")
        ));
    }

    #[test]
    fn items_never_handed_out_are_refused_for_every_write() {
        let p = project(&[]);
        for write in [Write::Label, Write::Skip, Write::Report] {
            assert!(matches!(
                refused(admit_write(&p, &rater(), &item(Hold::None), write, 0)),
                Refusal::Conflict(reason) if reason.contains("not handed to you")
            ));
        }
    }

    #[test]
    fn paused_failed_and_unqualified_raters_are_refused() {
        let p = project(&[]);
        let mut paused = rater();
        paused.paused = Some("paused: 1 of 5 gold right".into());
        assert_eq!(
            refused(admit_write(&p, &paused, &item(Hold::Live), Write::Skip, 0)),
            Refusal::Forbidden("paused: 1 of 5 gold right".into())
        );
        let mut failed = rater();
        failed.qualification = QualificationState::Failed("did not pass".into());
        assert!(matches!(
            refused(admit_rater(&p, &failed)),
            Refusal::Forbidden(_)
        ));
        let mut pending = rater();
        pending.qualification = QualificationState::Pending;
        assert!(matches!(
            refused(admit_write(&p, &pending, &item(Hold::Live), Write::Label, 0)),
            Refusal::Forbidden(reason) if reason.contains("qualification")
        ));
        let mut question = item(Hold::Live);
        question.is_qualification = true;
        assert_eq!(
            admit_write(&p, &pending, &question, Write::Label, 0),
            Ok(())
        );
    }

    #[test]
    fn members_link_users_and_open_projects() {
        let open = Membership::default();
        assert_eq!(may_join(1, None, Pool::Generalist, &open), Ok(()));
        assert!(may_join(1, Some(2), Pool::User, &open).is_err());
        assert_eq!(may_join(2, Some(2), Pool::User, &open), Ok(()));
        let experts_only = Membership {
            pools: vec![Pool::Expert],
            ..Membership::default()
        };
        assert!(may_join(1, None, Pool::Generalist, &experts_only).is_err());
        assert_eq!(may_join(1, None, Pool::Expert, &experts_only), Ok(()));
        let named = Membership {
            names_anyone: true,
            names_rater: false,
            pools: Vec::new(),
        };
        assert!(matches!(
            may_join(1, None, Pool::Generalist, &named),
            Err(Refusal::Forbidden(reason)) if reason.contains("member")
        ));
        let me = Membership {
            names_rater: true,
            ..named
        };
        assert_eq!(may_join(1, None, Pool::Generalist, &me), Ok(()));
    }

    #[test]
    fn edits_stay_inside_the_window_and_never_touch_qualification_answers() {
        let p = project(&[]);
        let mut own = item(Hold::None);
        assert!(matches!(
            refused(admit_write(&p, &rater(), &own, Write::Edit, 0)),
            Refusal::Conflict(reason) if reason.contains("nothing to change")
        ));
        own.labelled_at = Some(1_000);
        assert_eq!(admit_write(&p, &rater(), &own, Write::Edit, 61_000), Ok(()));
        assert!(matches!(
            refused(admit_write(&p, &rater(), &own, Write::Edit, 61_001)),
            Refusal::Conflict(reason) if reason.contains("60 s")
        ));
        assert!(matches!(
            refused(admit_write(&p, &rater(), &own, Write::Label, 2_000)),
            Refusal::Conflict(reason) if reason.contains("already labelled")
        ));
        own.is_qualification = true;
        assert!(matches!(
            refused(admit_write(&p, &rater(), &own, Write::Edit, 2_000)),
            Refusal::Conflict(reason) if reason.contains("qualification")
        ));
        let mut paused = rater();
        paused.paused = Some("paused".into());
        own.is_qualification = false;
        assert!(matches!(
            refused(admit_write(&p, &paused, &own, Write::Edit, 2_000)),
            Refusal::Forbidden(_)
        ));
    }

    #[test]
    fn experts_need_the_projects_expertise() {
        let p = project(&["radiology"]);
        let mut expert = rater();
        expert.pool = Pool::Expert;
        expert.expertise = vec!["dermatology".into()];
        assert!(matches!(
            refused(admit_rater(&p, &expert)),
            Refusal::Forbidden(reason) if reason.contains("radiology")
        ));
        expert.expertise.push("radiology".into());
        assert_eq!(admit_rater(&p, &expert), Ok(()));
    }

    #[test]
    fn held_items_and_full_items_refuse_labels_but_not_skips() {
        let p = project(&[]);
        let mut held = item(Hold::Live);
        held.held = true;
        assert!(matches!(
            refused(admit_write(&p, &rater(), &held, Write::Label, 0)),
            Refusal::Conflict(reason) if reason.contains("held back")
        ));
        assert_eq!(admit_write(&p, &rater(), &held, Write::Skip, 0), Ok(()));
        let mut full = item(Hold::Expired);
        full.free_slots = 0;
        assert!(matches!(
            refused(admit_write(&p, &rater(), &full, Write::Label, 0)),
            Refusal::Conflict(reason) if reason.contains("expired")
        ));
        let mut gold = full.clone();
        gold.is_gold = true;
        assert_eq!(
            admit_write(&p, &rater(), &gold, Write::Label, 0),
            Ok(()),
            "gold questions have no slots: every rater answers each once"
        );
    }
}
