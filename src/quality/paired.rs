//! Each rater's labels against the other raters' labels on the same items, as k x k tables
//! (rows: the rater's category, columns: the other raters' categories, each item's other
//! labels weighing one label in all), kept up to date while the distribution test leaves
//! raters out one at a time: only the items of the rater left out are recounted.
//!
//! The other raters' labels, not their majority: where raters are honest but make mistakes,
//! the majority of several labels says the common class more often than any one of them
//! does, so against the majority honest raters seemed to over-use the rare classes (in a
//! simulation of classes that come 80/10/10, raters right 65% of the time and three labels
//! an item, shifts of 0.12 to 0.19, over the 0.15 limit, and honest raters were called
//! biased). Against the others' labels an honest rater's expected shift is zero.

use super::dataset::{Dataset, Label};

/// Paired tables of every rater.
pub(crate) struct PairedTables {
    k: usize,
    /// `raters x k x k` weights: row the rater's category, column the others' category.
    tables: Vec<f64>,
    /// `raters x k x k`: the sum over the rater's compared labels of `p p'`, with `p` the
    /// other raters' shares of each category on the label's item (the covariance of the
    /// paired differences needs it; with one other label it is the column totals on the
    /// diagonal).
    moments: Vec<f64>,
    /// Labels with a reference (another label on the item, not left out), per rater.
    compared: Vec<usize>,
    left_out: Vec<bool>,
    /// Room for one label's reference: the other raters' shares of each category.
    shares: Vec<f64>,
}

/// One rater's paired table against the other raters' labels.
pub(crate) struct Paired<'a> {
    pub(crate) table: &'a [f64],
    pub(crate) moments: &'a [f64],
    pub(crate) compared: usize,
}

impl PairedTables {
    /// Tables against all other raters.
    pub(crate) fn new(data: &Dataset) -> Self {
        let k = data.categories().len();
        let mut paired = PairedTables {
            k,
            tables: vec![0.0; data.rater_count() * k * k],
            moments: vec![0.0; data.rater_count() * k * k],
            compared: vec![0; data.rater_count()],
            left_out: vec![false; data.rater_count()],
            shares: vec![0.0; k],
        };
        let mut counts = vec![0usize; k];
        for item in 0..data.item_count() {
            paired.count_labels(data.item_labels(item), 1.0, &mut counts);
        }
        paired
    }

    /// One rater's table.
    pub(crate) fn table(&self, rater: usize) -> Paired<'_> {
        let size = self.k * self.k;
        let range = rater * size..(rater + 1) * size;
        Paired {
            table: &self.tables[range.clone()],
            moments: &self.moments[range],
            compared: self.compared[rater],
        }
    }

    /// Raters left out so far.
    pub(crate) fn left_out(&self) -> &[bool] {
        &self.left_out
    }

    /// Leave `rater` out of everyone else's reference.
    pub(crate) fn leave_out(&mut self, data: &Dataset, rater: usize) {
        let mut counts = vec![0usize; self.k];
        // The rater's items are far apart in the dataset: their labels are gathered as the
        // first pass takes them away, and added back from there, in the same order.
        let own = data.rater_label_indexes(rater);
        let (mut gathered, mut ends) = (Vec::new(), Vec::with_capacity(own.len()));
        for &index in own {
            let labels = data.item_labels(data.labels()[index as usize].item as usize);
            self.count_labels(labels, -1.0, &mut counts);
            gathered.extend_from_slice(labels);
            ends.push(gathered.len());
        }
        self.left_out[rater] = true;
        let mut start = 0;
        for end in ends {
            self.count_labels(&gathered[start..end], 1.0, &mut counts);
            start = end;
        }
    }

    /// Adds (`weight` 1) or takes away (-1) each of an item's `labels` against the labels
    /// of the other raters not left out; `counts` is room for a count per category.
    fn count_labels(&mut self, labels: &[Label], weight: f64, counts: &mut [usize]) {
        counts.fill(0);
        for label in labels.iter().filter(|l| !self.left_out[l.rater as usize]) {
            counts[label.value as usize] += 1;
        }
        let counted: usize = counts.iter().sum();
        let k = self.k;
        for label in labels {
            let (rater, value) = (label.rater as usize, label.value as usize);
            let own = usize::from(!self.left_out[rater]);
            let others = counted - own;
            if others == 0 {
                continue;
            }
            // Worked out once per label rather than once per cell of the moments: with
            // four categories that was twenty divisions a label instead of four.
            for (c, share) in self.shares.iter_mut().enumerate() {
                let count = counts[c] - if c == value { own } else { 0 };
                *share = count as f64 / others as f64;
            }
            let block = rater * k * k;
            for (c, &p) in self.shares.iter().enumerate() {
                if p == 0.0 {
                    continue;
                }
                self.tables[block + value * k + c] += weight * p;
                let moments = &mut self.moments[block + c * k..block + (c + 1) * k];
                for (moment, &q) in moments.iter_mut().zip(&self.shares) {
                    *moment += weight * p * q;
                }
            }
            if weight > 0.0 {
                self.compared[rater] += 1;
            } else {
                self.compared[rater] -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table and moments of `rater` counted the plain way: each of their labels against
    /// the shares of the other labels on its item whose raters are not in `left_out`.
    fn plain(data: &Dataset, rater: usize, left_out: &[bool]) -> (Vec<f64>, Vec<f64>, usize) {
        let k = data.categories().len();
        let (mut table, mut moments, mut compared) = (vec![0.0; k * k], vec![0.0; k * k], 0);
        for &index in data.rater_label_indexes(rater) {
            let own = data.labels()[index as usize];
            let others: Vec<usize> = (data.item_labels(own.item as usize).iter())
                .filter(|l| l.rater != own.rater && !left_out[l.rater as usize])
                .map(|l| l.value as usize)
                .collect();
            if others.is_empty() {
                continue;
            }
            let mut p = vec![0.0; k];
            for &value in &others {
                p[value] += 1.0 / others.len() as f64;
            }
            for c in 0..k {
                table[own.value as usize * k + c] += p[c];
                for d in 0..k {
                    moments[c * k + d] += p[c] * p[d];
                }
            }
            compared += 1;
        }
        (table, moments, compared)
    }

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{got:?} against {want:?}");
        }
    }

    #[test]
    fn leaving_a_rater_out_matches_counting_without_them() {
        let data = crate::quality::synth::generate(300, 4, 8, 3, 5);
        let mut paired = PairedTables::new(&data);
        paired.leave_out(&data, 2);
        paired.leave_out(&data, 5);
        let mut left_out = vec![false; 8];
        left_out[2] = true;
        left_out[5] = true;
        for rater in 0..8 {
            let (table, moments, compared) = plain(&data, rater, &left_out);
            let counted = paired.table(rater);
            assert_close(counted.table, &table);
            assert_close(counted.moments, &moments);
            assert_eq!(counted.compared, compared);
        }
        assert_eq!(paired.left_out(), left_out.as_slice());
    }

    #[test]
    fn with_one_other_label_an_item_the_table_is_the_plain_paired_table() {
        // Two labels an item: each label's reference is the one other label, so the table
        // counts whole pairs and the moments are the column totals on the diagonal, as the
        // Stuart-Maxwell test of a paired table takes them.
        let data = crate::quality::synth::generate(400, 2, 6, 3, 9);
        let paired = PairedTables::new(&data);
        for rater in 0..6 {
            let counted = paired.table(rater);
            assert!(counted.table.iter().all(|w| w.fract() == 0.0));
            let columns: Vec<f64> = (0..3)
                .map(|c| (0..3).map(|r| counted.table[r * 3 + c]).sum())
                .collect();
            let diagonal: Vec<f64> = (0..9)
                .map(|i| if i / 3 == i % 3 { columns[i / 3] } else { 0.0 })
                .collect();
            assert_eq!(counted.moments, diagonal.as_slice());
        }
    }
}
