//! Bounds on free text from outside: every field a person or a client can fill has a cap,
//! refused with the field and the limit when passed.

use super::Invalid;

/// A skip reason.
pub const MAX_REASON_CHARS: usize = 500;
/// A note on a problem report, an adjudication reason.
pub const MAX_NOTE_CHARS: usize = 2_000;
/// A project's name.
pub const MAX_PROJECT_NAME_CHARS: usize = 200;
/// A project's instructions (Markdown).
pub const MAX_INSTRUCTIONS_CHARS: usize = 20_000;
/// The explanation shown after a qualification question.
pub const MAX_EXPLANATION_CHARS: usize = 5_000;
/// An item's external id.
pub const MAX_EXTERNAL_ID_CHARS: usize = 500;
/// A feedback event's context object, as JSON text.
pub const MAX_CONTEXT_BYTES: usize = 4_096;
/// An expertise tag.
pub const MAX_TAG_CHARS: usize = 50;

/// Refuses text longer than `max` characters (Unicode scalar values), naming the field.
/// The reason a rater sees when an admin pauses them, from what the admin typed (if anything).
pub fn admin_pause_reason(typed: Option<&str>) -> Result<String, Invalid> {
    match typed.map(str::trim) {
        Some(reason) if !reason.is_empty() => {
            check_text("reason", reason, MAX_REASON_CHARS)?;
            Ok(format!("paused by an admin: {reason}"))
        }
        _ => Ok("paused by an admin".to_string()),
    }
}

pub fn check_text(field: &str, text: &str, max: usize) -> Result<(), Invalid> {
    // Counting stops one past the limit, so a huge input costs no more than a small one.
    if text.chars().nth(max).is_some() {
        return Err(Invalid::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_up_to_the_limit_passes_and_longer_is_refused_by_name() {
        assert!(check_text("reason", "", 3).is_ok());
        assert!(
            check_text("reason", "äöü", 3).is_ok(),
            "characters, not bytes"
        );
        let refused = check_text("reason", "abcd", 3).unwrap_err();
        assert_eq!(refused.field, "reason");
        assert_eq!(refused.reason, "must be at most 3 characters");
    }
}
