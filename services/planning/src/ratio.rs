//! The "Net Worth to Total Assets" ratio, as the seed defines it, made total: every input gets
//! an answer, never a crash.
//!
//! ratio = (assets − liabilities) / assets, from the latest balance sheet dated no later than
//! the as-of time; the benchmark depends on the age in whole years at that time
//! (0–30 → 0.20, 31–45 → 0.50, 46–66 → 0.75, 67+ → 0.90); "Good" when ratio ≥ benchmark.
//! Where the seed crashes, the answer says "Insufficient data" with the reason in `detail`:
//! no balance sheet yet or assets of 0 (ratio is null), an unknown or future date of birth
//! (benchmark is null).

use chrono::NaiveDate;
use contracts::planning_api::{Ratio, RatioResult, RatioResultStatus};

pub const NET_WORTH_TO_TOTAL_ASSETS: &str = "Net Worth to Total Assets";

/// The figures of the balance sheet the ratio uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    pub assets: i64,
    pub liabilities: i64,
}

/// Whole years from `birth` to `as_of`; `None` when birth is after `as_of`.
pub fn age_in_years(birth: NaiveDate, as_of: NaiveDate) -> Option<u32> {
    as_of.years_since(birth)
}

pub fn benchmark_for_age(age: u32) -> f64 {
    match age {
        0..=30 => 0.20,
        31..=45 => 0.50,
        46..=66 => 0.75,
        _ => 0.90,
    }
}

/// Assets minus liabilities, widened so that no pair of stored figures overflows (an i64
/// difference can need 65 bits).
pub fn net_worth(assets: i64, liabilities: i64) -> i128 {
    i128::from(assets) - i128::from(liabilities)
}

pub fn net_worth_to_total_assets(
    figures: Option<Figures>,
    birth: Option<NaiveDate>,
    as_of: NaiveDate,
) -> Ratio {
    let mut reasons = Vec::new();
    let ratio = match figures {
        None => {
            reasons.push("no balance sheet yet".to_string());
            None
        }
        Some(Figures { assets: 0, .. }) => {
            reasons.push("assets are 0, so the ratio is undefined".to_string());
            None
        }
        // The contract says assets ≥ 0; figures from elsewhere get an answer, not a ratio.
        Some(Figures { assets, .. }) if assets < 0 => {
            reasons.push(format!(
                "assets are negative ({assets}), so the ratio is undefined"
            ));
            None
        }
        Some(Figures {
            assets,
            liabilities,
        }) => Some(net_worth(assets, liabilities) as f64 / assets as f64),
    };
    let benchmark = match birth {
        None => {
            reasons.push("date of birth unknown".to_string());
            None
        }
        Some(birth) => match age_in_years(birth, as_of) {
            Some(age) => Some(benchmark_for_age(age)),
            None => {
                reasons.push(format!("date of birth {birth} is after {as_of}"));
                None
            }
        },
    };
    let status = match (ratio, benchmark) {
        (Some(r), Some(b)) if r >= b => RatioResultStatus::Good,
        (Some(_), Some(_)) => RatioResultStatus::NeedsImprovement,
        _ => RatioResultStatus::InsufficientData,
    };
    Ratio {
        name: NET_WORTH_TO_TOTAL_ASSETS.to_string(),
        result: RatioResult {
            ratio,
            benchmark,
            status,
            detail: (!reasons.is_empty()).then(|| reasons.join("; ")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn bart_simpson_as_in_the_seed() {
        let figures = Figures {
            assets: 3_340_000,
            liabilities: 537_300,
        };
        let ratio =
            net_worth_to_total_assets(Some(figures), Some(date(1980, 2, 23)), date(2026, 11, 24));
        assert_eq!(ratio.name, "Net Worth to Total Assets");
        assert_eq!(ratio.result.ratio, Some(0.8391317365269461));
        assert_eq!(ratio.result.benchmark, Some(0.75)); // 46 years old
        assert_eq!(ratio.result.status, RatioResultStatus::Good);
        assert_eq!(ratio.result.detail, None);
    }

    #[test]
    fn age_counts_whole_years_around_the_birthday() {
        assert_eq!(age_in_years(date(1980, 2, 23), date(2010, 2, 22)), Some(29));
        assert_eq!(age_in_years(date(1980, 2, 23), date(2010, 2, 23)), Some(30));
        assert_eq!(age_in_years(date(2000, 2, 29), date(2001, 2, 28)), Some(0));
        assert_eq!(age_in_years(date(2030, 1, 1), date(2026, 1, 1)), None);
    }

    #[test]
    fn benchmark_bands_have_the_seed_edges() {
        for (age, expected) in [
            (0, 0.2),
            (30, 0.2),
            (31, 0.5),
            (45, 0.5),
            (46, 0.75),
            (66, 0.75),
            (67, 0.9),
            (120, 0.9),
        ] {
            assert_eq!(benchmark_for_age(age), expected, "age {age}");
        }
    }

    #[test]
    fn below_the_benchmark_needs_improvement() {
        let ratio = net_worth_to_total_assets(
            Some(Figures {
                assets: 100,
                liabilities: 90,
            }),
            Some(date(1990, 1, 1)),
            date(2026, 1, 1),
        );
        assert_eq!(ratio.result.status, RatioResultStatus::NeedsImprovement);
        // Net worth can be negative.
        let ratio = net_worth_to_total_assets(
            Some(Figures {
                assets: 100,
                liabilities: 300,
            }),
            Some(date(1990, 1, 1)),
            date(2026, 1, 1),
        );
        assert_eq!(ratio.result.ratio, Some(-2.0));
    }

    #[test]
    fn extreme_figures_get_an_answer_without_overflow() {
        let born = Some(date(1990, 1, 1));
        let as_of = date(2026, 1, 1);
        let negative = net_worth_to_total_assets(
            Some(Figures {
                assets: i64::MIN,
                liabilities: 1,
            }),
            born,
            as_of,
        );
        assert_eq!(negative.result.ratio, None);
        assert_eq!(negative.result.status, RatioResultStatus::InsufficientData);
        assert!(
            negative
                .result
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("negative"))
        );
        // i64::MAX − i64::MIN needs 65 bits.
        assert_eq!(net_worth(i64::MAX, i64::MIN), (1_i128 << 64) - 1);
        let huge = net_worth_to_total_assets(
            Some(Figures {
                assets: i64::MAX,
                liabilities: i64::MIN,
            }),
            born,
            as_of,
        );
        assert!(huge.result.ratio.is_some_and(|r| (r - 2.0).abs() < 1e-9));
        assert_eq!(huge.result.status, RatioResultStatus::Good);
        let owing = net_worth_to_total_assets(
            Some(Figures {
                assets: 1,
                liabilities: i64::MAX,
            }),
            born,
            as_of,
        );
        assert!(owing.result.ratio.is_some_and(f64::is_finite));
        assert_eq!(owing.result.status, RatioResultStatus::NeedsImprovement);
    }

    #[test]
    fn zero_assets_no_sheet_and_unknown_birth_are_answered() {
        let zero = net_worth_to_total_assets(
            Some(Figures {
                assets: 0,
                liabilities: 5,
            }),
            Some(date(1990, 1, 1)),
            date(2026, 1, 1),
        );
        assert_eq!(
            (zero.result.ratio, zero.result.status),
            (None, RatioResultStatus::InsufficientData)
        );
        assert!(
            zero.result
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("assets are 0"))
        );

        let none = net_worth_to_total_assets(None, Some(date(1990, 1, 1)), date(2026, 1, 1));
        assert_eq!(none.result.benchmark, Some(0.5));
        assert!(
            none.result
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("no balance sheet"))
        );

        let unknown = net_worth_to_total_assets(
            Some(Figures {
                assets: 10,
                liabilities: 5,
            }),
            None,
            date(2026, 1, 1),
        );
        assert_eq!(
            (unknown.result.ratio, unknown.result.benchmark),
            (Some(0.5), None)
        );
        assert_eq!(unknown.result.status, RatioResultStatus::InsufficientData);

        let future = net_worth_to_total_assets(
            Some(Figures {
                assets: 10,
                liabilities: 5,
            }),
            Some(date(2100, 1, 1)),
            date(2026, 1, 1),
        );
        assert!(
            future
                .result
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("after"))
        );
    }
}
