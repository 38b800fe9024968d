//! `evaluate trust`, the measuring half: given each live relationship's scores at the split
//! and what each customer did in the window after it, how well the trust index (and each of
//! C, R, I and S on its own) ranks the customers who did it, and how well it ranks what the
//! customers who bought again spent. No I/O: the command reads the ledger, [`measure`]
//! counts, `render::trust_validity_table` prints.

use std::collections::HashMap;

use serde::Serialize;
use trustledger_engine::Scores;

/// What one customer did in the outcome window, and whether they had bought by the split.
#[derive(Debug, Default, Clone, Copy)]
pub struct Did {
    /// Had placed an order at or before the split: only such a customer can buy *again*.
    pub had_bought: bool,
    pub buys: bool,
    /// A customer they referred made a first purchase in the window.
    pub refers: bool,
    pub removes: bool,
    pub reviews: bool,
    /// What their orders in the window came to (`order.placed`'s amounts, summed).
    pub spent: f64,
}

/// One outcome the index is measured against.
struct Outcome {
    name: &'static str,
    happened: fn(&Did) -> bool,
    /// Who it is counted over, among the live customers.
    among: fn(&Did) -> bool,
    /// Those customers, for the warnings ("live customer" + "s" + this).
    who: &'static str,
    /// Why nobody is counted, when nobody is ("as …").
    nobody: &'static str,
    /// A lower index predicts it (removing the seller); the others a higher one.
    lower_predicts: bool,
}

const OUTCOMES: [Outcome; 4] = [
    Outcome {
        name: "buys again",
        happened: |d| d.buys,
        among: |d| d.had_bought,
        who: " who had bought",
        nobody: "no live customer had bought by the split",
        lower_predicts: false,
    },
    Outcome {
        name: "refers someone who buys",
        happened: |d| d.refers,
        among: |_| true,
        who: "",
        nobody: "there was no live customer at the split",
        lower_predicts: false,
    },
    Outcome {
        name: "removes the seller",
        happened: |d| d.removes,
        among: |_| true,
        who: "",
        nobody: "there was no live customer at the split",
        lower_predicts: true,
    },
    Outcome {
        name: "posts a positive review",
        happened: |d| d.reviews,
        among: |_| true,
        who: "",
        nobody: "there was no live customer at the split",
        lower_predicts: false,
    },
];

/// One measure (an AUC, a Spearman correlation) of each component, in the direction the
/// component moves the index (C, R and I raise it; a higher S counts against). None where the
/// measure is undefined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PerComponent {
    #[serde(rename = "C")]
    pub c: Option<f64>,
    #[serde(rename = "R")]
    pub r: Option<f64>,
    #[serde(rename = "I")]
    pub i: Option<f64>,
    #[serde(rename = "S")]
    pub s: Option<f64>,
}

impl PerComponent {
    /// `measure` of each of the four component columns, C, R, I, S in that order.
    fn of(parts: &[Vec<f64>; 4], measure: impl Fn(&[f64]) -> Option<f64>) -> Self {
        PerComponent {
            c: measure(&parts[0]),
            r: measure(&parts[1]),
            i: measure(&parts[2]),
            s: measure(&parts[3]),
        }
    }
}

/// How well the index ranks the customers who did one thing in the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeAuc {
    pub outcome: &'static str,
    /// "higher index" or "lower index": which end of the ranking is expected to do it.
    pub predictor: &'static str,
    pub customers: usize,
    pub positives: usize,
    /// None when nobody, or everybody, did it: no ranking can be judged.
    pub auc: Option<f64>,
    /// The 95 % bootstrap interval of `auc` (stratified: each resample keeps the counts of
    /// customers who did and did not do it).
    pub auc_low: Option<f64>,
    pub auc_high: Option<f64>,
    pub component_auc: PerComponent,
}

/// How well the index ranks what the customers who bought again spent in the window: the
/// articles' claim is that higher trust means more spending, not only more buyers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendRank {
    /// Live customers who had bought by the split and bought again in the window.
    pub customers: usize,
    /// The Spearman correlation of the index at the split with what each of them spent in
    /// the window; None with fewer than two of them, or when they all spent the same (or all
    /// had the same index).
    pub spearman: Option<f64>,
    /// Its 95 % bootstrap interval (resampling those customers).
    pub spearman_low: Option<f64>,
    pub spearman_high: Option<f64>,
    pub component_spearman: PerComponent,
}

/// The whole measurement, as `evaluate trust --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustValidity {
    /// The split, RFC 3339 on the seller's clock.
    pub split: String,
    /// The outcome window's end (the split plus the horizon), likewise.
    pub window_end: String,
    pub horizon_days: u32,
    /// Relationships not lost at the split: the customers the outcomes are counted over
    /// ("buys again" over those of them who had bought).
    pub live_relationships: usize,
    /// Relationships begun by the split but lost by then (removed), left out: nothing they
    /// do next is a consequence of a relationship that had ended.
    pub lost_at_split: usize,
    pub outcomes: Vec<OutcomeAuc>,
    pub spending: SpendRank,
    /// What a reader must know: each undefined AUC or spending correlation, each one given no
    /// interval, and whatever the caller adds (a window that runs past the ledger's last day,
    /// orders in several currencies).
    pub warnings: Vec<String>,
    /// Resamples behind each interval.
    pub resamples: usize,
}

/// Fewest customers on each side of an outcome (who did it, who did not) for its AUC to be
/// given an interval (as for a forecast comparison's).
pub use trustledger_forecast::MIN_FOR_INTERVAL;

/// Fewest customers who bought again for the Spearman correlation of spending to be given an
/// interval.
pub use trustledger_forecast::MIN_FOR_SPEARMAN_INTERVAL;

/// Who bought again in the window: a live customer who had bought by the split and bought in
/// it. Spending is measured over them.
pub fn bought_again(d: &Did) -> bool {
    d.had_bought && d.buys
}

/// Measures the index of each `live` relationship (customer, scores at the split) against
/// what `did` says each customer did after it. A customer missing from `did` did nothing.
/// The intervals are a bootstrap of `resamples` draws from `seed`, so they reproduce; the
/// customers are put in byte order of their ids first, so the result does not depend on the
/// order `live` comes in (which is the store's, and a PostgreSQL collation's, choice).
pub fn measure(
    live: &[(&str, Scores)],
    did: &HashMap<String, Did>,
    resamples: usize,
    seed: u64,
) -> (Vec<OutcomeAuc>, SpendRank, Vec<String>) {
    let mut live = live.to_vec();
    live.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let index: Vec<f64> = live.iter().map(|(_, s)| s.index).collect();
    // Each component in the direction it moves the index (S negated).
    let part = |f: fn(&Scores) -> f64| -> Vec<f64> { live.iter().map(|(_, s)| f(s)).collect() };
    let parts = [
        part(|s| s.components.c),
        part(|s| s.components.r),
        part(|s| s.components.i),
        part(|s| -s.components.s),
    ];
    let mut results = Vec::with_capacity(OUTCOMES.len());
    let mut warnings = Vec::new();
    let none = Did::default();
    let of = |c: &str| did.get(c).unwrap_or(&none);
    for o in &OUTCOMES {
        let members: Vec<usize> = (0..live.len())
            .filter(|&k| (o.among)(of(live[k].0)))
            .collect();
        let labels: Vec<bool> = members
            .iter()
            .map(|&k| (o.happened)(of(live[k].0)))
            .collect();
        let pick = |v: &[f64]| -> Vec<f64> { members.iter().map(|&k| v[k]).collect() };
        let positives = labels.iter().filter(|l| **l).count();
        let defined = positives > 0 && positives < labels.len();
        if labels.is_empty() {
            warnings.push(format!(
                "undefined: the AUC for \"{}\", as {}",
                o.name, o.nobody
            ));
        } else if !defined {
            let who = if positives == 0 { "no" } else { "every" };
            warnings.push(format!(
                "undefined: the AUC for \"{}\", as {who} live customer{} did it in the window",
                o.name, o.who
            ));
        }
        let oriented = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .map(|x| if o.lower_predicts { -x } else { *x })
                .collect()
        };
        let auc_signed =
            |v: &[f64]| defined.then(|| trustledger_forecast::metrics::auc(v, &labels));
        let auc_of = |v: &[f64]| auc_signed(&oriented(&pick(v)));
        let signed = oriented(&pick(&index));
        // A stratified resample keeps every one of a handful of positives (or negatives),
        // so its interval would only say how the many others vary: too narrow to show.
        let fewest = positives.min(labels.len() - positives);
        if defined && fewest < MIN_FOR_INTERVAL {
            // (the smaller side, which is the one a resample cannot vary)
            let (n, who) = if positives == fewest {
                (positives, "did it")
            } else {
                (fewest, "did not")
            };
            warnings.push(format!(
                "no interval for the AUC for \"{}\": only {n} live customer{}{} {who}, and a \
                 bootstrap of fewer than {MIN_FOR_INTERVAL} keeps the same few in every \
                 resample, so it would understate the uncertainty",
                o.name,
                if n == 1 { "" } else { "s" },
                o.who
            ));
        }
        let interval = if defined && fewest >= MIN_FOR_INTERVAL {
            trustledger_forecast::auc_interval(&signed, &labels, resamples, seed)
        } else {
            None
        };
        results.push(OutcomeAuc {
            outcome: o.name,
            predictor: if o.lower_predicts {
                "lower index"
            } else {
                "higher index"
            },
            customers: labels.len(),
            positives,
            auc: auc_signed(&signed),
            auc_low: interval.map(|i| i.0),
            auc_high: interval.map(|i| i.1),
            component_auc: PerComponent::of(&parts, auc_of),
        });
    }
    let spending = spending(&live, of, &index, &parts, resamples, seed, &mut warnings);
    (results, spending, warnings)
}

/// The Spearman correlation of spending, over those of the `live` customers (in `measure`'s
/// order, with their `index` and component columns `parts`) who bought again, by what `of`
/// says each did; its warnings go to `warnings`.
fn spending<'a>(
    live: &[(&str, Scores)],
    of: impl Fn(&str) -> &'a Did,
    index: &[f64],
    parts: &[Vec<f64>; 4],
    resamples: usize,
    seed: u64,
    warnings: &mut Vec<String>,
) -> SpendRank {
    let buyers: Vec<usize> = (0..live.len())
        .filter(|&k| bought_again(of(live[k].0)))
        .collect();
    let spent: Vec<f64> = buyers.iter().map(|&k| of(live[k].0).spent).collect();
    let pick = |v: &[f64]| -> Vec<f64> { buyers.iter().map(|&k| v[k]).collect() };
    let rho = |v: &[f64]| {
        Some(trustledger_forecast::metrics::spearman(&pick(v), &spent)).filter(|r| !r.is_nan())
    };
    let spearman = rho(index);
    let name = "the Spearman correlation of spending";
    // (with none, the AUC for buying again is undefined too, and its warning says why)
    if buyers.len() == 1 {
        warnings.push(format!(
            "undefined: {name}, as only one live customer who had bought by the split bought \
             again in the window"
        ));
    } else if buyers.len() > 1 && spearman.is_none() {
        let why = if spent.iter().all(|x| *x == spent[0]) {
            "spent the same"
        } else {
            "had the same index"
        };
        warnings.push(format!(
            "undefined: {name}, as all {} customers who bought again in the window {why}",
            buyers.len()
        ));
    } else if (2..MIN_FOR_SPEARMAN_INTERVAL).contains(&buyers.len()) {
        warnings.push(format!(
            "no interval for {name}: only {} customers bought again in the window, and a \
             bootstrap of fewer than {MIN_FOR_SPEARMAN_INTERVAL} is as often in perfect order as \
             they are, so it would understate the uncertainty",
            buyers.len()
        ));
    }
    // (None below MIN_FOR_SPEARMAN_INTERVAL customers, as warned above)
    let interval = spearman.and_then(|_| {
        trustledger_forecast::spearman_interval(&pick(index), &spent, resamples, seed)
    });
    SpendRank {
        customers: buyers.len(),
        spearman,
        spearman_low: interval.map(|i| i.0),
        spearman_high: interval.map(|i| i.1),
        component_spearman: PerComponent::of(parts, rho),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustledger_engine::{Components, Stage};

    fn scores(index: f64, c: f64, s: f64) -> Scores {
        let comp = Components {
            c,
            r: 5.0,
            i: 5.0,
            s,
        };
        Scores {
            components: comp,
            confidence: comp,
            t: 1.0,
            index,
            overall_confidence: 0.5,
            risk: 0.0,
            unanswered_contact: 0.0,
            stage: Stage::Customer,
        }
    }

    /// `names` live at the split, by index rising 10 a step from 0; C and S the same for all.
    fn ladder(names: &[String]) -> Vec<(&str, Scores)> {
        names
            .iter()
            .enumerate()
            .map(|(k, n)| (n.as_str(), scores(k as f64 * 10.0, 5.0, 5.0)))
            .collect()
    }

    /// Four customers, a to d by rising index, who had all bought; b and d buy again (d
    /// spending more), a removes the seller.
    fn four() -> (Vec<(&'static str, Scores)>, HashMap<String, Did>) {
        let live = vec![
            ("a", scores(10.0, 2.0, 9.0)),
            ("b", scores(20.0, 9.0, 1.0)),
            ("c", scores(30.0, 3.0, 8.0)),
            ("d", scores(40.0, 8.0, 2.0)),
        ];
        let mut did = HashMap::new();
        for (c, buys, removes, spent) in [
            ("a", false, true, 0.0),
            ("b", true, false, 50.0),
            ("c", false, false, 0.0),
            ("d", true, false, 80.0),
        ] {
            let d = Did {
                had_bought: true,
                buys,
                removes,
                spent,
                ..Did::default()
            };
            did.insert(c.to_owned(), d);
        }
        // someone who is not live at the split counts for nothing
        did.insert(
            "gone".to_owned(),
            Did {
                refers: true,
                ..Did::default()
            },
        );
        (live, did)
    }

    proptest::proptest! {
        /// The same customers in any order give the same numbers, intervals included.
        #[test]
        fn the_order_of_the_customers_does_not_matter(
            people in proptest::collection::vec(
                (0.0..100.0f64, 0.0..10.0f64, 0.0..10.0f64, 0.0..500.0f64, proptest::array::uniform5(proptest::bool::ANY)),
                2..40,
            ),
            seed in 0u64..1000,
            rotate in 0usize..40,
        ) {
            let names: Vec<String> = (0..people.len()).map(|k| format!("c{k}")).collect();
            let mut live: Vec<(&str, Scores)> = Vec::new();
            let mut did = HashMap::new();
            for (name, (index, c, s, spent, [had_bought, buys, refers, removes, reviews])) in names.iter().zip(&people) {
                live.push((name.as_str(), scores(*index, *c, *s)));
                did.insert(name.clone(), Did { had_bought: *had_bought, buys: *buys, refers: *refers, removes: *removes, reviews: *reviews, spent: *spent });
            }
            let first = measure(&live, &did, 30, seed);
            live.reverse();
            let k = rotate % live.len();
            live.rotate_left(k);
            proptest::prop_assert_eq!(measure(&live, &did, 30, seed), first);
        }
    }

    #[test]
    fn each_outcome_is_ranked_the_way_it_is_predicted() {
        let (live, did) = four();
        let (out, spending, warnings) = measure(&live, &did, 50, 1);
        let buys = &out[0];
        assert_eq!((buys.customers, buys.positives), (4, 2));
        // pairs (buyer, non-buyer) with the buyer higher: (b,a), (d,a), (d,c) of four
        assert_eq!(buys.auc, Some(0.75));
        // C ranks both buyers above both others; S (negated) does too
        assert_eq!(buys.component_auc.c, Some(1.0));
        assert_eq!(buys.component_auc.s, Some(1.0));
        // R is the same for all: every pair a tie
        assert_eq!(buys.component_auc.r, Some(0.5));
        // two buyers and two others are too few to resample: no interval, and a warning
        assert_eq!((buys.auc_low, buys.auc_high), (None, None));
        // the lowest index removes the seller: a lower index predicts it perfectly
        let removes = &out[2];
        assert_eq!(removes.predictor, "lower index");
        assert_eq!((removes.positives, removes.auc), (1, Some(1.0)));
        // nobody live referred or reviewed: undefined, with a warning each, and no interval
        for o in [&out[1], &out[3]] {
            assert_eq!((o.positives, o.auc, o.auc_low), (0, None, None), "{o:?}");
            assert_eq!(o.component_auc.c, None);
        }
        // of the two who bought again, d has the higher index and spent more; C and S rank
        // them the other way; R is the same for both
        assert_eq!((spending.customers, spending.spearman), (2, Some(1.0)));
        let per = spending.component_spearman;
        assert_eq!((per.c, per.r, per.s), (Some(-1.0), None, Some(-1.0)));
        assert_eq!(
            (spending.spearman_low, spending.spearman_high),
            (None, None)
        );
        assert_eq!(
            warnings,
            [
                "no interval for the AUC for \"buys again\": only 2 live customers who had \
                 bought did it, and a bootstrap of fewer than 5 keeps the same few in every resample, so it would \
                 understate the uncertainty",
                "undefined: the AUC for \"refers someone who buys\", as no live customer did it \
                 in the window",
                "no interval for the AUC for \"removes the seller\": only 1 live customer did \
                 it, and a bootstrap of fewer than 5 keeps the same few in every resample, so it \
                 would understate the uncertainty",
                "undefined: the AUC for \"posts a positive review\", as no live customer did it \
                 in the window",
                "no interval for the Spearman correlation of spending: only 2 customers bought \
                 again in the window, and a bootstrap of fewer than 10 is as often in perfect \
                 order as they are, so it would understate the uncertainty",
            ]
        );
    }

    /// Spending is ranked over those who bought again, with an interval from ten of them (not
    /// from nine); one buyer, or buyers who all spent the same, leave it undefined, and say why.
    #[test]
    fn spending_is_ranked_over_those_who_bought_again() {
        let names: Vec<String> = (0..12).map(|k| format!("c{k}")).collect();
        let live = ladder(&names);
        // c0 had not bought before (a first purchase is no "again"); c1 did not buy again
        let did = |spent: &dyn Fn(usize) -> f64, buyers: &[usize]| -> HashMap<String, Did> {
            (0..names.len())
                .map(|k| {
                    let d = Did {
                        had_bought: k != 0,
                        buys: buyers.contains(&k),
                        spent: spent(k),
                        ..Did::default()
                    };
                    (names[k].clone(), d)
                })
                .collect()
        };
        let all: Vec<usize> = (0..12).filter(|&k| k != 1).collect();
        // (the other outcomes have their own warnings: nobody here refers, removes or reviews)
        let on_spending = |w: Vec<String>| -> Vec<String> {
            w.into_iter().filter(|w| w.contains("spending")).collect()
        };
        // spending falls as the index rises, with a wobble: the wrong way round, in its interval
        let falling = |k: usize| 100.0 - k as f64 + [0.0, 3.0, -3.0][k % 3];
        let (_, sp, warnings) = measure(&live, &did(&falling, &all), 200, 3);
        assert_eq!(sp.customers, 10);
        let rho = sp.spearman.unwrap();
        let (lo, hi) = (sp.spearman_low.unwrap(), sp.spearman_high.unwrap());
        assert!(
            lo <= rho && rho <= hi && hi < 0.0 && rho > -1.0,
            "{lo} {rho} {hi}"
        );
        assert!(on_spending(warnings).is_empty());
        // nine of them: no interval, and a warning
        // (all[0] is c0, who had not bought before)
        let (_, sp, warnings) = measure(&live, &did(&falling, &all[2..]), 200, 3);
        assert_eq!((sp.customers, sp.spearman_low), (9, None));
        assert!(sp.spearman.is_some());
        assert_eq!(
            on_spending(warnings),
            [
                "no interval for the Spearman correlation of spending: only 9 customers bought \
              again in the window, and a bootstrap of fewer than 10 is as often in perfect order \
              as they are, so it would understate the uncertainty"
            ]
        );
        // all spent the same
        let (_, sp, warnings) = measure(&live, &did(&|_| 20.0, &all), 200, 3);
        assert_eq!(
            (sp.customers, sp.spearman, sp.spearman_low),
            (10, None, None)
        );
        assert_eq!(
            on_spending(warnings),
            [
                "undefined: the Spearman correlation of spending, as all 10 customers who bought \
              again in the window spent the same"
            ]
        );
        // all had the same index
        let flat: Vec<(&str, Scores)> = live
            .iter()
            .map(|(n, _)| (*n, scores(50.0, 5.0, 5.0)))
            .collect();
        let (_, sp, warnings) = measure(&flat, &did(&falling, &all), 200, 3);
        assert_eq!((sp.customers, sp.spearman), (10, None));
        assert_eq!(
            on_spending(warnings),
            [
                "undefined: the Spearman correlation of spending, as all 10 customers who bought \
              again in the window had the same index"
            ]
        );
        // one bought again
        let (_, sp, warnings) = measure(&live, &did(&|_| 20.0, &[0, 4]), 200, 3);
        assert_eq!((sp.customers, sp.spearman), (1, None));
        assert_eq!(
            on_spending(warnings),
            [
                "undefined: the Spearman correlation of spending, as only one live customer who \
              had bought by the split bought again in the window"
            ]
        );
    }

    /// With five on each side the AUC gets its interval, which holds the estimate; with
    /// one side at four it does not.
    #[test]
    fn an_interval_needs_five_on_each_side() {
        let names: Vec<String> = (0..10).map(|k| format!("c{k}")).collect();
        let live = ladder(&names);
        // (all ten had bought before: the ones listed buy again)
        let buyers = |which: &[usize]| -> HashMap<String, Did> {
            (0..names.len())
                .map(|k| {
                    let did = Did {
                        had_bought: true,
                        buys: which.contains(&k),
                        ..Did::default()
                    };
                    (names[k].clone(), did)
                })
                .collect()
        };
        let (out, _, _) = measure(&live, &buyers(&[2, 5, 7, 8, 9]), 200, 7);
        let buys = &out[0];
        let (auc, lo, hi) = (
            buys.auc.unwrap(),
            buys.auc_low.unwrap(),
            buys.auc_high.unwrap(),
        );
        assert!(lo <= auc && auc <= hi && lo < hi, "{lo} {auc} {hi}");
        // six of ten bought: four did not
        let (out, _, warnings) = measure(&live, &buyers(&[2, 5, 6, 7, 8, 9]), 200, 7);
        assert!(out[0].auc.is_some() && out[0].auc_low.is_none());
        assert!(
            warnings[0].starts_with(
                "no interval for the AUC for \"buys again\": only 4 live \
                 customers who had bought did not,"
            ),
            "{warnings:?}"
        );
    }

    #[test]
    fn an_outcome_everyone_had_is_undefined_too() {
        let (live, _) = four();
        let all: HashMap<String, Did> = live
            .iter()
            .map(|(c, _)| {
                (
                    (*c).to_owned(),
                    Did {
                        had_bought: true,
                        buys: true,
                        ..Did::default()
                    },
                )
            })
            .collect();
        let (out, _, warnings) = measure(&live, &all, 50, 1);
        assert_eq!((out[0].positives, out[0].auc), (4, None));
        assert_eq!(
            warnings[0],
            "undefined: the AUC for \"buys again\", as every live customer who had bought did \
             it in the window"
        );
    }

    /// "Buys again" is counted over the customers who had bought by the split: a first
    /// purchase in the window is not a repeat, and a customer who never bought is not a
    /// negative. The other outcomes are counted over every live customer.
    #[test]
    fn buys_again_is_counted_over_those_who_had_bought() {
        let (live, mut did) = four();
        // c (index 30) had never bought and now buys for the first time: not a repeat, and
        // not counted; the two repeat buyers b and d still rank above a
        did.insert(
            "c".to_owned(),
            Did {
                buys: true,
                ..Did::default()
            },
        );
        let (out, _, _) = measure(&live, &did, 50, 1);
        assert_eq!((out[0].customers, out[0].positives), (3, 2));
        assert_eq!(out[0].auc, Some(1.0));
        assert_eq!(out[2].customers, 4);
        // nobody had bought: said as such, not as "nobody who had bought did it"
        for d in did.values_mut() {
            d.had_bought = false;
        }
        let (out, _, warnings) = measure(&live, &did, 50, 1);
        assert_eq!((out[0].customers, out[0].auc), (0, None));
        assert_eq!(
            warnings[0],
            "undefined: the AUC for \"buys again\", as no live customer had bought by the split"
        );
    }

    /// An AUC whose interval holds 0.5, or lies below it, is read out under the table: the
    /// numbers alone left a reader to notice that referrals are ranked at chance.
    #[test]
    fn the_table_reads_out_chance_and_the_wrong_way_round() {
        let outcome = |name: &'static str, auc: f64, lo: f64, hi: f64| OutcomeAuc {
            outcome: name,
            predictor: "higher index",
            customers: 100,
            positives: 10,
            auc: Some(auc),
            auc_low: Some(lo),
            auc_high: Some(hi),
            component_auc: PerComponent::default(),
        };
        let v = TrustValidity {
            split: "2026-05-01T23:59:59+08:00".to_owned(),
            window_end: "2026-07-30T23:59:59+08:00".to_owned(),
            horizon_days: 90,
            live_relationships: 100,
            lost_at_split: 7,
            outcomes: vec![
                outcome("buys again", 0.75, 0.74, 0.76),
                outcome("refers someone who buys", 0.49, 0.46, 0.52),
                outcome("posts a positive review", 0.40, 0.35, 0.45),
            ],
            spending: SpendRank {
                customers: 40,
                spearman: Some(0.02),
                spearman_low: Some(-0.03),
                spearman_high: Some(0.07),
                component_spearman: PerComponent::default(),
            },
            warnings: Vec::new(),
            resamples: 200,
        };
        let table = crate::render::trust_validity_table(&v);
        assert!(!table.contains("reading: buys again"), "{table}");
        assert!(
            table.contains(
                "reading: spending: the index does not rank what the customers who bought again \
                 spent better than chance here (its interval holds 0)"
            ),
            "{table}"
        );
        assert!(
            table.contains(
                "reading: refers someone who buys: the index does not tell who did it from who \
                 did not better than chance here (its interval holds 0.5)"
            ),
            "{table}"
        );
        assert!(
            table.contains(
                "reading: posts a positive review: the index ranks it the wrong way round here"
            ),
            "{table}"
        );
        // spending below zero, and a component without a correlation, are read out too
        let mut v = v;
        v.spending.spearman_high = Some(-0.01);
        v.spending.component_spearman.c = Some(0.1);
        let table = crate::render::trust_validity_table(&v);
        assert!(
            table.contains(
                "reading: spending: the index ranks what the customers who bought again spent \
                 the wrong way round here (its interval is below 0)"
            ) && table.contains(
                "spending: - where a component is the same for every customer who bought again"
            ),
            "{table}"
        );
    }

    #[test]
    fn the_table_marks_what_it_cannot_measure() {
        let (live, did) = four();
        let (outcomes, spending, warnings) = measure(&live, &did, 50, 1);
        let v = TrustValidity {
            split: "2026-05-01T15:59:59Z".to_owned(),
            window_end: "2026-07-30T15:59:59Z".to_owned(),
            horizon_days: 90,
            live_relationships: live.len(),
            lost_at_split: 0,
            outcomes,
            spending,
            warnings,
            resamples: 50,
        };
        insta::assert_snapshot!(crate::render::trust_validity_table(&v));
        // and the JSON: undefined is null, and each component's value under its letter
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["outcomes"][1]["auc"], serde_json::Value::Null);
        assert_eq!(
            json["outcomes"][0]["component_auc"],
            serde_json::json!({"C": 1.0, "R": 0.5, "I": 0.5, "S": 1.0})
        );
        assert_eq!(
            json["spending"],
            serde_json::json!({"customers": 2, "spearman": 1.0, "spearman_low": null,
                "spearman_high": null, "component_spearman": {"C": -1.0, "R": null, "I": null, "S": -1.0}})
        );
    }
}
