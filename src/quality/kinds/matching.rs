//! One-to-one matching of two raters' units (spans, boxes) with the Hungarian algorithm.
//!
//! The rule: only eligible pairs may match (same label, and for boxes IoU at least the
//! threshold); among all one-to-one matchings the one with the most pairs wins, and among
//! those the one with the largest summed score (IoU, or span overlap). The search runs on
//! each connected component of the eligibility graph separately, which gives the same
//! optimum and keeps the O(n³) Hungarian step to the few units that can compete.

use std::collections::HashMap;

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;

/// One matched pair: index into the left list, index into the right list, its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Matched {
    pub left: usize,
    pub right: usize,
    pub score: f64,
}

/// Each pair's weight: a count term that dominates any sum of scores, plus the score in
/// fixed point, so the integer Hungarian solver maximises pairs first and scores second.
const PAIR_WEIGHT: i128 = 1 << 80;
const SCORE_SCALE: f64 = (1u64 << 40) as f64;

/// Match `left` units to `right` units one to one; `score(i, j)` is `Some(s)` (s in
/// [0, 1]) when unit i of the left list may match unit j of the right list.
pub(crate) fn match_one_to_one(
    left: usize,
    right: usize,
    score: impl Fn(usize, usize) -> Option<f64>,
) -> Vec<Matched> {
    let mut edges = Vec::new();
    for i in 0..left {
        for j in 0..right {
            if let Some(s) = score(i, j) {
                let s = if s.is_finite() {
                    s.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                edges.push((i, j, s));
            }
        }
    }
    let scores: HashMap<(usize, usize), f64> = edges.iter().map(|&(i, j, s)| ((i, j), s)).collect();
    let mut matched = Vec::new();
    for component in components(left, right, &edges) {
        matched.extend(solve(&component, &scores));
    }
    matched.sort_by_key(|m| (m.left, m.right));
    matched
}

/// A connected component of the eligibility graph: its left and right units.
struct Component {
    left: Vec<usize>,
    right: Vec<usize>,
}

/// Connected components (with at least one edge) of the bipartite graph; right unit j is
/// node `left + j`.
fn components(left: usize, right: usize, edges: &[(usize, usize, f64)]) -> Vec<Component> {
    let mut parent: Vec<usize> = (0..left + right).collect();
    for &(i, j, _) in edges {
        let (a, b) = (root(&mut parent, i), root(&mut parent, left + j));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut by_root: Vec<Option<usize>> = vec![None; left + right];
    let mut found: Vec<Component> = Vec::new();
    let mut has_edge = vec![false; left + right];
    for &(i, j, _) in edges {
        has_edge[i] = true;
        has_edge[left + j] = true;
    }
    for node in (0..left + right).filter(|&node| has_edge[node]) {
        let r = root(&mut parent, node);
        let slot = *by_root[r].get_or_insert_with(|| {
            found.push(Component {
                left: Vec::new(),
                right: Vec::new(),
            });
            found.len() - 1
        });
        if node < left {
            found[slot].left.push(node);
        } else {
            found[slot].right.push(node - left);
        }
    }
    found
}

/// The root of `node` in a union-find forest, halving paths on the way.
pub(crate) fn root(parent: &mut [usize], mut node: usize) -> usize {
    while parent[node] != node {
        parent[node] = parent[parent[node]];
        node = parent[node];
    }
    node
}

/// The best matching inside one component (both sides non-empty: it has an edge).
fn solve(component: &Component, scores: &HashMap<(usize, usize), f64>) -> Vec<Matched> {
    // kuhn_munkres assigns every row, so rows must be the smaller side.
    let transpose = component.left.len() > component.right.len();
    let (rows, columns) = if transpose {
        (&component.right, &component.left)
    } else {
        (&component.left, &component.right)
    };
    let pair = |r: usize, c: usize| {
        if transpose {
            (columns[c], rows[r])
        } else {
            (rows[r], columns[c])
        }
    };
    let cell_score = |r: usize, c: usize| scores.get(&pair(r, c)).copied();
    let weights = Matrix::from_fn(rows.len(), columns.len(), |(r, c)| {
        cell_score(r, c).map_or(0, |s| PAIR_WEIGHT + (s * SCORE_SCALE).round() as i128)
    });
    let (_, assignment) = kuhn_munkres(&weights);
    assignment
        .into_iter()
        .enumerate()
        .filter_map(|(r, c)| {
            let score = cell_score(r, c)?;
            let (left, right) = pair(r, c);
            Some(Matched { left, right, score })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(matched: &[Matched]) -> Vec<(usize, usize)> {
        matched.iter().map(|m| (m.left, m.right)).collect()
    }

    #[test]
    fn prefers_more_pairs_over_a_higher_score() {
        // left 0 fits right 0 very well and right 1 barely; left 1 fits only right 0.
        let scores = [[Some(0.99), Some(0.5)], [Some(0.5), None]];
        let matched = match_one_to_one(2, 2, |i, j| scores[i][j]);
        assert_eq!(pairs(&matched), vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn among_equal_counts_takes_the_higher_scores() {
        let scores = [[Some(0.6), Some(0.9)], [Some(0.9), Some(0.6)]];
        let matched = match_one_to_one(2, 2, |i, j| scores[i][j]);
        assert_eq!(pairs(&matched), vec![(0, 1), (1, 0)]);
        let total: f64 = matched.iter().map(|m| m.score).sum();
        assert!((total - 1.8).abs() < 1e-12);
    }

    #[test]
    fn more_left_than_right_and_separate_components() {
        let matched = match_one_to_one(3, 2, |i, j| {
            (i == 2 && j == 0 || i == 0 && j == 1).then_some(1.0)
        });
        assert_eq!(pairs(&matched), vec![(0, 1), (2, 0)]);
    }

    #[test]
    fn nothing_eligible_or_nothing_at_all() {
        assert!(match_one_to_one(2, 3, |_, _| None).is_empty());
        assert!(match_one_to_one(0, 3, |_, _| Some(1.0)).is_empty());
        assert!(match_one_to_one(3, 0, |_, _| Some(1.0)).is_empty());
    }

    #[test]
    fn non_finite_scores_still_match_without_hanging() {
        let matched = match_one_to_one(2, 2, |i, j| (i == j).then_some(f64::NAN));
        assert_eq!(pairs(&matched), vec![(0, 0), (1, 1)]);
        assert!(matched.iter().all(|m| m.score == 0.0));
    }
}
