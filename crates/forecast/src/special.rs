//! Special functions: log-gamma, digamma, trigamma and the Gauss hypergeometric series.

/// `ln Γ(x)` for `x > 0`.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// `ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b)` for `a, b > 0`.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Above this argument a difference of two `ln Γ` (or `ψ`) a whole step apart loses digits to
/// cancellation (`ln Γ(z) ≈ z ln z`: at `z = 1e305` it is within a factor of ten of the largest
/// float, and the step's contribution vanishes below its last digit), so [`ln_rising`] and
/// [`digamma_step`] sum the step's terms instead. Below it both ways agree to ~1e-9.
const LARGE: f64 = 1e6;
/// Longest whole step summed term by term.
const MAX_TERMS: f64 = 100_000.0;

/// `ln Γ(z + n) − ln Γ(z)` (the log of the rising factorial `z (z + 1) ⋯ (z + n − 1)` for a
/// whole `n`), for `z > 0`, `n >= 0`. For a large `z` it stays exact where the two `ln Γ` would
/// cancel to noise: a whole `n` is summed, `n ln z + Σ ln(1 + k / z)`, any other step is the
/// difference of the two Stirling series taken term by term,
/// `(z − ½) ln(1 + n/z) + n ln(z + n) − n − n / (12 z (z + n))` (the next term is below
/// `1 / (360 z³)`, under 1e-20 here).
pub fn ln_rising(z: f64, n: f64) -> f64 {
    if z > LARGE && n == n.trunc() && (0.0..=MAX_TERMS).contains(&n) {
        let terms: f64 = (0..n as u32).map(|k| (f64::from(k) / z).ln_1p()).sum();
        n * z.ln() + terms
    } else if z > LARGE && n >= 0.0 {
        (z - 0.5) * (n / z).ln_1p() + n * (z + n).ln() - n - n / (12.0 * z * (z + n))
    } else {
        ln_gamma(z + n) - ln_gamma(z)
    }
}

/// `ψ(z + n) − ψ(z)`, for `z > 0`, `n >= 0`; for a large `z` and a whole `n` summed,
/// `Σ 1 / (z + k)`, as [`ln_rising`] is, and for any other step the difference of the
/// asymptotic series term by term, `ln(1 + n/z) + n / (2 z (z + n)) + n (2z + n) / (12 z² (z + n)²)`.
pub fn digamma_step(z: f64, n: f64) -> f64 {
    if z > LARGE && n == n.trunc() && (0.0..=MAX_TERMS).contains(&n) {
        (0..n as u32).map(|k| 1.0 / (z + f64::from(k))).sum()
    } else if z > LARGE && n >= 0.0 {
        let w = z + n;
        (n / z).ln_1p() + n / (2.0 * z * w) + n * (z + w) / (12.0 * z * z * w * w)
    } else {
        digamma(z + n) - digamma(z)
    }
}

/// `ψ′(z + n) − ψ′(z)`, the step of the trigamma function, for `z > 0`, `n >= 0`: the
/// derivative of [`digamma_step`] in `z`. For a large `z` it is the derivative of the series'
/// leading term, `−n / (z (z + n))`: it steers Newton steps (BG/NBD's Hessian) and never sets
/// where a fit ends, so the next terms are not needed.
pub fn trigamma_step(z: f64, n: f64) -> f64 {
    if z > LARGE && n >= 0.0 {
        -n / (z * (z + n))
    } else {
        trigamma(z + n) - trigamma(z)
    }
}

/// Trigamma `ψ′(x)` for `x > 0` (recurrence up to 10, then the asymptotic series; relative
/// error below 1e-13).
pub fn trigamma(mut x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut acc = 0.0;
    while x < 10.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    acc + inv
        + 0.5 * inv2
        + inv
            * inv2
            * (1.0 / 6.0
                - inv2
                    * (1.0 / 30.0
                        - inv2
                            * (1.0 / 42.0
                                - inv2
                                    * (1.0 / 30.0
                                        - inv2 * (5.0 / 66.0 - inv2 * (691.0 / 2730.0))))))
}

/// Digamma `ψ(x) = d ln Γ(x) / dx` for `x > 0` (recurrence up to 10, then the asymptotic
/// series; absolute error below 1e-13).
pub fn digamma(mut x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    acc + x.ln()
        - 0.5 * inv
        - inv2
            * (1.0 / 12.0
                - inv2
                    * (1.0 / 120.0
                        - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 * (1.0 / 132.0)))))
}

/// Gauss hypergeometric function `₂F₁(a, b; c; z)` by its power series, for `0 <= z < 1`
/// and `c` not a non-positive integer (the series' poles; a negative non-integer `c` is fine).
/// Returns NaN at a pole or when the series does not converge within the iteration budget.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(0.0..1.0).contains(&z) || (c <= 0.0 && c == c.round()) {
        return f64::NAN;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..200_000u32 {
        let nf = f64::from(n);
        term *= (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-16 * sum.abs() && nf > a.abs().max(b.abs()).max(c.abs()) {
            return sum;
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digamma_known_values() {
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-13);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-13);
        assert!((digamma(10.0) - 2.251_752_589_066_721).abs() < 1e-13);
        // derivative check against ln_gamma
        for &x in &[0.1f64, 0.7, 2.3, 17.0, 250.0] {
            let h = 1e-5 * x.max(1.0);
            let num = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!((digamma(x) - num).abs() < 1e-7, "x={x}");
        }
    }

    #[test]
    fn trigamma_known_values() {
        let pi2_6 = std::f64::consts::PI.powi(2) / 6.0;
        assert!((trigamma(1.0) - pi2_6).abs() < 1e-13);
        assert!((trigamma(0.5) - 3.0 * pi2_6).abs() < 1e-12);
        // against mpmath's psi(1, x) at 30 digits, where the asymptotic series starts (10)
        // and between
        for (x, exact) in [
            (10.0, 0.105_166_335_681_685_75),
            (10.5, 0.099_916_956_059_126_73),
            (3.7, 0.310_037_857_670_038_3),
            (123.4, 0.008_136_651_610_865_263),
        ] {
            assert!((trigamma(x) / exact - 1.0).abs() < 1e-13, "x={x}");
        }
        // derivative check against digamma
        for &x in &[0.1f64, 0.7, 2.3, 17.0, 250.0] {
            let h = 1e-5 * x;
            let num = (digamma(x + h) - digamma(x - h)) / (2.0 * h);
            assert!((trigamma(x) - num).abs() < 1e-6 * trigamma(x), "x={x}");
        }
        // a whole step is −Σ 1/(z + k)², on both sides of LARGE (beyond it the leading term
        // of the series, good to n / z)
        for z in [0.3f64, 7.5, 1e5, 9.99e5, 1.000_001e6, 2e6, 1e9] {
            let by_sum: f64 = -(0..3)
                .map(|k| 1.0 / (z + f64::from(k)).powi(2))
                .sum::<f64>();
            // (below LARGE the difference of two ψ′ near 1/z loses about z digits of 1e-13)
            let tol = if z > LARGE {
                3.0 / z
            } else {
                1e-12 * (1.0 + z)
            };
            assert!(
                (trigamma_step(z, 3.0) / by_sum - 1.0).abs() < tol,
                "z={z}: {} vs {by_sum}",
                trigamma_step(z, 3.0)
            );
        }
        assert_eq!(trigamma_step(2e6, 0.0), 0.0);
        assert!(trigamma(0.0).is_nan());
    }

    #[test]
    fn hyp2f1_known_values() {
        // 2F1(1,1;2;z) = -ln(1-z)/z
        for &z in &[0.1f64, 0.5, 0.9] {
            let exact = -(1.0 - z).ln() / z;
            assert!((hyp2f1(1.0, 1.0, 2.0, z) - exact).abs() < 1e-12);
        }
        // 2F1(a,b;b;z) = (1-z)^-a
        assert!((hyp2f1(0.3, 2.5, 2.5, 0.7) - 0.3f64.powf(-0.3)).abs() < 1e-12);
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_nan());
        // negative non-integer c: 2F1(a,b;b;z) = (1-z)^-a holds for any b = c
        assert!((hyp2f1(0.3, -0.6, -0.6, 0.7) - 0.3f64.powf(-0.3)).abs() < 1e-12);
        // 2F1(1,1;c;z) for c = -0.5 against its first terms summed by hand at small z
        let z: f64 = 1e-3;
        let by_hand =
            1.0 + z / -0.5 + 2.0 * z * z / (-0.5 * 0.5) + 6.0 * z.powi(3) / (-0.5 * 0.5 * 1.5);
        assert!((hyp2f1(1.0, 1.0, -0.5, z) - by_hand).abs() < 1e-10);
        // poles
        assert!(hyp2f1(1.0, 1.0, 0.0, 0.5).is_nan());
        assert!(hyp2f1(1.0, 1.0, -2.0, 0.5).is_nan());
    }

    /// Where the two ways to a rising factorial meet they agree, and beyond it the sum keeps
    /// what the `ln Γ` difference loses: `ln Γ(z + 3) − ln Γ(z) → 3 ln z` as `z` grows, and
    /// `ψ(z + 3) − ψ(z) → 3 / z`.
    #[test]
    fn rising_factorials_stay_exact_for_large_arguments() {
        // (on both sides of LARGE: the product checks the summed branch to 1e-9 too)
        for z in [0.3f64, 7.5, 1e5, 9.99e5, 1.000_001e6, 2e6] {
            let by_product = (z * (z + 1.0) * (z + 2.0)).ln();
            assert!((ln_rising(z, 3.0) - by_product).abs() < 1e-9, "z={z}");
            let by_sum = 1.0 / z + 1.0 / (z + 1.0) + 1.0 / (z + 2.0);
            assert!(
                (digamma_step(z, 3.0) - by_sum).abs() < 1e-9 * by_sum,
                "z={z}"
            );
        }
        for z in [1.000_001e6, 1e12, 1e100, 2.56e305] {
            let lead = 3.0 * f64::ln(z);
            assert!(
                (ln_rising(z, 3.0) - lead).abs() < 1e-5 * lead.abs().max(1.0),
                "z={z}"
            );
            assert!((digamma_step(z, 3.0) * z / 3.0 - 1.0).abs() < 1e-5, "z={z}");
        }
        // the plain difference at 1e15 is a multiple of ln Γ's last digit (4): off by > 0.1
        let plain = ln_gamma(1e15 + 3.0) - ln_gamma(1e15);
        assert!((plain - ln_rising(1e15, 3.0)).abs() > 0.1);
        // a step that is not whole: the Stirling difference agrees with the plain one where
        // that still holds (1e6 … 1e7: ln Γ about 1.5e8, so ~3e-8 absolute), and keeps the
        // leading n ln z where it does not
        for z in [1.000_001e6, 3e6, 1e7] {
            for n in [0.5, 3.74, 6.25 * 7.0, 2.5e5] {
                let plain = ln_gamma(z + n) - ln_gamma(z);
                assert!((ln_rising(z, n) - plain).abs() < 1e-7, "z={z} n={n}");
                let plain = digamma(z + n) - digamma(z);
                assert!(
                    (digamma_step(z, n) - plain).abs() < 1e-12 * (1.0 + plain.abs()),
                    "z={z} n={n}"
                );
            }
        }
        for z in [1e12, 1e100, 2.56e305] {
            let lead = 0.5 * f64::ln(z);
            assert!((ln_rising(z, 0.5) - lead).abs() < 1e-9 * lead, "z={z}");
            assert!((digamma_step(z, 0.5) * z / 0.5 - 1.0).abs() < 1e-9, "z={z}");
        }
        // a whole step too long to sum takes the same series
        let (z, n) = (2e6, 2.0 * MAX_TERMS);
        assert!((ln_rising(z, n) - (ln_gamma(z + n) - ln_gamma(z))).abs() < 1e-6);
        assert_eq!(ln_rising(2e6, 0.0), 0.0);
        assert_eq!(digamma_step(2e6, 0.0), 0.0);
    }

    #[test]
    fn ln_beta_known() {
        assert!((ln_beta(2.0, 3.0) - (1.0f64 / 12.0).ln()).abs() < 1e-14);
    }
}
