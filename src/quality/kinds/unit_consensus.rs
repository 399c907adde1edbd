//! Consensus of unit lists (spans, boxes): the units a majority of raters matched, merged.

use std::collections::BTreeSet;

use super::index_pairs;
use super::matching::{root, Matched};

/// The consensus units of one item and whether some group had exactly half the raters.
///
/// Every pair of raters' lists is matched with `matcher`; matched units are linked, and
/// each connected group of units (a group may chain across several raters) whose units
/// come from more than half of the raters becomes one unit through `merge`. A group
/// holding two units of one rater (possible only through a chain) counts that rater once
/// for support but passes both units to `merge`. Groups come out in the order of their
/// first unit (by rater, then by position in the rater's list).
pub(crate) fn consensus_units<U>(
    lists: &[&[U]],
    matcher: impl Fn(&[U], &[U]) -> Vec<Matched>,
    merge: impl Fn(&[&U]) -> U,
) -> (Vec<U>, bool) {
    let raters = lists.len();
    let mut owner: Vec<(usize, usize)> = Vec::new();
    let mut offsets = Vec::with_capacity(raters);
    for (rater, list) in lists.iter().enumerate() {
        offsets.push(owner.len());
        owner.extend((0..list.len()).map(|position| (rater, position)));
    }
    let mut parent: Vec<usize> = (0..owner.len()).collect();
    for (r, s) in index_pairs(raters) {
        for m in matcher(lists[r], lists[s]) {
            let a = root(&mut parent, offsets[r] + m.left);
            let b = root(&mut parent, offsets[s] + m.right);
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root: Vec<Option<usize>> = vec![None; owner.len()];
    for unit in 0..owner.len() {
        let r = root(&mut parent, unit);
        match group_of_root[r] {
            Some(group) => groups[group].push(unit),
            None => {
                group_of_root[r] = Some(groups.len());
                groups.push(vec![unit]);
            }
        }
    }
    let mut merged = Vec::new();
    let mut tie = false;
    for members in &groups {
        let support = members
            .iter()
            .map(|&u| owner[u].0)
            .collect::<BTreeSet<_>>()
            .len();
        if 2 * support > raters {
            let units: Vec<&U> = members
                .iter()
                .map(|&u| &lists[owner[u].0][owner[u].1])
                .collect();
            merged.push(merge(&units));
        } else if 2 * support == raters {
            tie = true;
        }
    }
    (merged, tie)
}

/// How many raters' lists agree with the consensus list under `agree`.
pub(crate) fn share_agreeing<U>(
    lists: &[&[U]],
    consensus: &[U],
    agree: impl Fn(&[U], &[U]) -> bool,
) -> usize {
    lists.iter().filter(|list| agree(list, consensus)).count()
}
