//! Each rater's labels against the other raters' majority on the same items, as k x k tables
//! (rows: the rater's category, columns: the majority's), kept up to date while the
//! distribution test leaves raters out one at a time: only the items of the rater left out
//! are recounted.

use super::dataset::Dataset;
use super::reference::References;

/// Paired tables of every rater and the references behind them.
pub(crate) struct PairedTables {
    k: usize,
    /// `raters x k x k` counts.
    tables: Vec<f64>,
    /// Labels with a reference, per rater.
    compared: Vec<usize>,
    references: References,
    left_out: Vec<bool>,
}

impl PairedTables {
    /// Tables against the majority of all other raters.
    pub(crate) fn new(data: &Dataset) -> Self {
        let k = data.categories().len();
        let left_out = vec![false; data.rater_count()];
        let references = References::majority_without(data, &left_out);
        let mut paired = PairedTables {
            k,
            tables: vec![0.0; data.rater_count() * k * k],
            compared: vec![0; data.rater_count()],
            references,
            left_out,
        };
        for index in 0..data.label_count() {
            paired.count(data, index, 1.0);
        }
        paired
    }

    /// One rater's table and how many labels it holds.
    pub(crate) fn table(&self, rater: usize) -> (&[f64], usize) {
        let size = self.k * self.k;
        (
            &self.tables[rater * size..(rater + 1) * size],
            self.compared[rater],
        )
    }

    /// Raters left out so far.
    pub(crate) fn left_out(&self) -> &[bool] {
        &self.left_out
    }

    /// The majority references without the raters left out.
    pub(crate) fn into_references(self) -> References {
        self.references
    }

    /// Leave `rater` out of everyone else's reference.
    pub(crate) fn leave_out(&mut self, data: &Dataset, rater: usize) {
        self.left_out[rater] = true;
        let mut votes = vec![0.0; self.k];
        for &own in data.rater_label_indexes(rater) {
            let item = data.labels()[own as usize].item as usize;
            let first = data.item_start[item] as usize;
            let count = data.item_labels(item).len();
            for index in first..first + count {
                self.count(data, index, -1.0);
            }
            self.references
                .refresh_majority_item(data, &self.left_out, item, &mut votes);
            for index in first..first + count {
                self.count(data, index, 1.0);
            }
        }
    }

    fn count(&mut self, data: &Dataset, index: usize, weight: f64) {
        if let Some(reference) = self.references.class_of(index) {
            let label = data.labels()[index];
            let rater = label.rater as usize;
            let cell = (rater * self.k + label.value as usize) * self.k + reference as usize;
            self.tables[cell] += weight;
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

    #[test]
    fn leaving_a_rater_out_matches_building_without_them() {
        let data = crate::quality::synth::generate(300, 3, 8, 3, 5);
        let mut paired = PairedTables::new(&data);
        paired.leave_out(&data, 2);
        paired.leave_out(&data, 5);
        let mut left_out = vec![false; 8];
        left_out[2] = true;
        left_out[5] = true;
        let references = References::majority_without(&data, &left_out);
        for rater in 0..8 {
            let mut table = vec![0.0; 9];
            let mut compared = 0;
            for &index in data.rater_label_indexes(rater) {
                if let Some(reference) = references.class_of(index as usize) {
                    let value = data.labels()[index as usize].value as usize;
                    table[value * 3 + reference as usize] += 1.0;
                    compared += 1;
                }
            }
            assert_eq!(paired.table(rater), (table.as_slice(), compared));
        }
        assert_eq!(paired.into_references(), references);
    }
}
