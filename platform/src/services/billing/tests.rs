//! The split of a cost between vouchers, and amounts typed in CNY, in exact fen.

use super::*;

fn payer(id: &str, balance_fen: i64, percent: i64, yearly_cap_fen: i64) -> Payer {
    Payer {
        id: VoucherId::from(id),
        balance_fen,
        subsidy_bp: percent * 100,
        yearly_cap_fen,
    }
}

fn paid(debits: &[(VoucherId, i64)]) -> Vec<(&str, i64)> {
    debits.iter().map(|(id, fen)| (id.as_str(), *fen)).collect()
}

#[test]
fn use_is_metered_per_started_minute() {
    assert_eq!(millis(0.0), 0);
    assert_eq!(millis(0.001), 60_000);
    assert_eq!(millis(60.0), 60_000);
    assert_eq!(millis(60.0004), 60_000, "to the millisecond first");
    assert_eq!(millis(1800.2), 1_860_000);
    assert_eq!(millis(-5.0), 0);
    assert_eq!(millis(f64::INFINITY), i64::MAX);
}

#[test]
fn cost_rounds_to_the_nearest_fen() {
    // Half an hour at 20.00 CNY an hour.
    assert_eq!(cost_fen(1_800_000, 2000), 1000);
    // One second at 1.00 CNY an hour is 0.028 fen: nothing; 18 seconds is 0.5 fen: 1.
    assert_eq!(cost_fen(1000, 100), 0);
    assert_eq!(cost_fen(18_000, 100), 1);
    assert_eq!(cost_fen(i64::MAX, i64::MAX), i64::MAX);
}

#[test]
fn vouchers_pay_their_rate_earliest_expiry_first_within_balance_and_cap() {
    let cap = vouchers::DEFAULT_YEARLY_CAP_FEN;
    // One voucher at 50 %: half of 3000 fen.
    assert_eq!(
        paid(&split(3000, &[payer("a", 10_000, 50, cap)], 0)),
        [("a", 1500)]
    );
    // The first runs out after 400 fen, which stands for 800 fen of cost; the second pays
    // its 80 % of the 2200 left.
    assert_eq!(
        paid(&split(
            3000,
            &[payer("a", 400, 50, cap), payer("b", 10_000, 80, cap)],
            0
        )),
        [("a", 400), ("b", 1760)]
    );
    // The yearly cap stops the subsidy: 700 fen cap, 500 already paid this year.
    assert_eq!(
        paid(&split(3000, &[payer("a", 10_000, 50, 700)], 500)),
        [("a", 200)]
    );
    assert!(split(3000, &[payer("a", 10_000, 50, 700)], 700).is_empty());
    // Nothing to pay, or an empty voucher.
    assert!(split(0, &[payer("a", 10_000, 50, cap)], 0).is_empty());
    assert_eq!(
        paid(&split(
            3000,
            &[payer("a", 0, 50, cap), payer("b", 100, 50, cap)],
            0
        )),
        [("b", 100)]
    );
    // A share rounds down: 50 % of 3 fen is 1 fen.
    assert_eq!(paid(&split(3, &[payer("a", 10, 50, cap)], 0)), [("a", 1)]);
}

#[test]
fn amounts_are_read_exactly_in_fen() {
    assert_eq!(parse_cny("3000000"), Ok(300_000_000));
    assert_eq!(parse_cny("12.5"), Ok(1250));
    assert_eq!(parse_cny("0.07"), Ok(7));
    for bad in [
        "",
        "1.234",
        "-1",
        "1e3",
        "abc",
        ".5",
        "99999999999999999999",
    ] {
        assert!(parse_cny(bad).is_err(), "{bad}");
    }
}
