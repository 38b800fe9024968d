//! Small, dependency-free unconstrained minimisers: Nelder–Mead (derivative free), BFGS
//! (quasi-Newton with an Armijo backtracking line search) and Newton's method (for objectives
//! whose Hessian is at hand and positive definite near the minimum). Models optimise over
//! log-parameters so that positivity constraints disappear.

/// Result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimResult {
    /// Minimiser found.
    pub x: Vec<f64>,
    /// Objective at `x`.
    pub f: f64,
    /// Iterations performed.
    pub iterations: usize,
    /// Objective evaluations performed.
    pub evaluations: usize,
    /// Whether the convergence criterion was met (rather than the iteration cap).
    pub converged: bool,
}

/// Nelder–Mead simplex minimisation with the adaptive coefficients of Gao & Han (2012).
///
/// `step` is the initial simplex edge along each axis. Stops when both the spread of the
/// simplex values is below `tol_f` and its diameter below `tol_x`, or after `max_iter`
/// iterations. Non-finite objective values are treated as `+∞`.
pub fn nelder_mead<F: FnMut(&[f64]) -> f64>(
    mut f: F,
    x0: &[f64],
    step: f64,
    tol_f: f64,
    tol_x: f64,
    max_iter: usize,
) -> OptimResult {
    let n = x0.len();
    let nf = n as f64;
    let (alpha, beta, gamma, delta) = (
        1.0,
        1.0 + 2.0 / nf,
        0.75 - 1.0 / (2.0 * nf),
        1.0 - 1.0 / nf.max(2.0),
    );
    let mut evals = 0usize;
    let mut eval = |x: &[f64], evals: &mut usize| {
        *evals += 1;
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut pts: Vec<Vec<f64>> = vec![x0.to_vec()];
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step;
        pts.push(p);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| eval(p, &mut evals)).collect();
    let mut iter = 0;
    let mut converged = false;
    while iter < max_iter {
        iter += 1;
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = order.iter().map(|&i| pts[i].clone()).collect();
        vals = order.iter().map(|&i| vals[i]).collect();
        let spread = vals[n] - vals[0];
        let diam = pts[1..]
            .iter()
            .flat_map(|p| p.iter().zip(&pts[0]).map(|(a, b)| (a - b).abs()))
            .fold(0.0f64, f64::max);
        if spread.abs() <= tol_f && diam <= tol_x {
            converged = true;
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| pts[..n].iter().map(|p| p[j]).sum::<f64>() / nf)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            centroid
                .iter()
                .zip(&pts[n])
                .map(|(c, w)| c + t * (c - w))
                .collect()
        };
        let xr = along(alpha);
        let fr = eval(&xr, &mut evals);
        if fr < vals[0] {
            let xe = along(alpha * beta);
            let fe = eval(&xe, &mut evals);
            if fe < fr {
                pts[n] = xe;
                vals[n] = fe;
            } else {
                pts[n] = xr;
                vals[n] = fr;
            }
            continue;
        }
        if fr < vals[n - 1] {
            pts[n] = xr;
            vals[n] = fr;
            continue;
        }
        let (xc, fc) = if fr < vals[n] {
            let xc = along(alpha * gamma);
            let fc = eval(&xc, &mut evals);
            (xc, fc)
        } else {
            let xc = along(-gamma);
            let fc = eval(&xc, &mut evals);
            (xc, fc)
        };
        if fc < vals[n].min(fr) {
            pts[n] = xc;
            vals[n] = fc;
            continue;
        }
        // shrink towards the best point
        for i in 1..=n {
            let p: Vec<f64> = pts[0]
                .iter()
                .zip(&pts[i])
                .map(|(b, x)| b + delta * (x - b))
                .collect();
            vals[i] = eval(&p, &mut evals);
            pts[i] = p;
        }
    }
    let best = (0..=n)
        .min_by(|&a, &b| vals[a].total_cmp(&vals[b]))
        .unwrap_or(0);
    OptimResult {
        x: pts[best].clone(),
        f: vals[best],
        iterations: iter,
        evaluations: evals,
        converged,
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// BFGS minimisation. `fg(x, grad)` returns the objective and writes its gradient.
///
/// Stops when the largest absolute gradient component is below `gtol`, when a line search
/// cannot decrease the objective any more, or after `max_iter` iterations.
pub fn bfgs<F: FnMut(&[f64], &mut [f64]) -> f64>(
    fg: F,
    x0: &[f64],
    gtol: f64,
    max_iter: usize,
) -> OptimResult {
    bfgs_warm(fg, x0, None, gtol, max_iter).0
}

/// [`bfgs`] started from an inverse-Hessian approximation `h0` (row-major `n × n`, e.g. from
/// a previous run on a similar objective); also returns the final approximation.
pub fn bfgs_warm<F: FnMut(&[f64], &mut [f64]) -> f64>(
    mut fg: F,
    x0: &[f64],
    h0: Option<&[f64]>,
    gtol: f64,
    max_iter: usize,
) -> (OptimResult, Vec<f64>) {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut evals = 1usize;
    let mut fx = fg(&x, &mut g);
    // inverse Hessian approximation, row-major
    let mut h = vec![0.0; n * n];
    for i in 0..n {
        h[i * n + i] = 1.0;
    }
    let mut first_step = true;
    if let Some(h0) = h0.filter(|h0| h0.len() == n * n && h0.iter().all(|v| v.is_finite())) {
        h.copy_from_slice(h0);
        first_step = false;
    }
    let mut iter = 0;
    let mut converged = false;
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    let mut d = vec![0.0; n];
    while iter < max_iter {
        if !fx.is_finite() {
            break;
        }
        if g.iter().all(|v| v.abs() <= gtol) {
            converged = true;
            break;
        }
        iter += 1;
        for i in 0..n {
            d[i] = -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>();
        }
        let mut slope = dot(&d, &g);
        if slope >= 0.0 {
            // not a descent direction: reset to steepest descent
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] = if i == j { 1.0 } else { 0.0 };
                }
                d[i] = -g[i];
            }
            slope = dot(&d, &g);
            first_step = true;
        }
        let mut step = if first_step {
            (1.0 / d.iter().map(|v| v.abs()).fold(0.0, f64::max)).min(1.0)
        } else {
            1.0
        };
        let mut accepted = false;
        for _ in 0..60 {
            for i in 0..n {
                xn[i] = x[i] + step * d[i];
            }
            evals += 1;
            let fnew = fg(&xn, &mut gn);
            if fnew.is_finite() && fnew <= fx + 1e-4 * step * slope {
                accepted = true;
                let s: Vec<f64> = (0..n).map(|i| xn[i] - x[i]).collect();
                let y: Vec<f64> = (0..n).map(|i| gn[i] - g[i]).collect();
                let sy = dot(&s, &y);
                if sy > 1e-300 {
                    if first_step {
                        let scale = sy / dot(&y, &y);
                        for v in h.iter_mut() {
                            *v *= scale;
                        }
                        first_step = false;
                    }
                    // H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T
                    let rho = 1.0 / sy;
                    let hy: Vec<f64> = (0..n)
                        .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
                        .collect();
                    let yhy = dot(&y, &hy);
                    for i in 0..n {
                        for j in 0..n {
                            h[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                                + (rho * rho * yhy + rho) * s[i] * s[j];
                        }
                    }
                }
                let small = (fx - fnew).abs() <= 1e-15 * fx.abs().max(1.0);
                x.copy_from_slice(&xn);
                g.copy_from_slice(&gn);
                fx = fnew;
                if small && g.iter().all(|v| v.abs() <= gtol.sqrt()) {
                    converged = true;
                }
                break;
            }
            step *= 0.5;
        }
        if !accepted || converged {
            converged = converged || g.iter().all(|v| v.abs() <= gtol.sqrt());
            break;
        }
    }
    (
        OptimResult {
            x,
            f: fx,
            iterations: iter,
            evaluations: evals,
            converged,
        },
        h,
    )
}

/// Solves `a z = v` for a symmetric positive definite `a` (row-major `n × n`) by Cholesky;
/// `None` when `a` is not positive definite (or not finite).
fn cholesky_solve(a: &[f64], v: &[f64]) -> Option<Vec<f64>> {
    let n = v.len();
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                if !s.is_finite() || s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (v[i] - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
    }
    let mut z = vec![0.0; n];
    for i in (0..n).rev() {
        z[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * z[k]).sum::<f64>()) / l[i * n + i];
    }
    Some(z)
}

/// Solves `(h + τ I) z = v` with the first τ that makes `h + τ I` positive definite, in the
/// order of Nocedal & Wright (Algorithm 3.3): τ = 0, then (with β = 1e-3 times the largest
/// diagonal entry's size, at least 1e-3) β more than the most negative diagonal entry, doubled
/// until it is; `None` when `h` is not finite.
fn damped_solve(h: &[f64], v: &[f64], n: usize) -> Option<Vec<f64>> {
    if let Some(z) = cholesky_solve(h, v) {
        return Some(z);
    }
    if !h.iter().all(|x| x.is_finite()) {
        return None;
    }
    let diag = |i: usize| h[i * n + i];
    let beta = 1e-3 * (0..n).map(|i| diag(i).abs()).fold(1.0f64, f64::max);
    let lowest = (0..n).map(diag).fold(f64::INFINITY, f64::min);
    let mut tau = if lowest > 0.0 { beta } else { beta - lowest };
    let mut damped = h.to_vec();
    for _ in 0..60 {
        for i in 0..n {
            damped[i * n + i] = diag(i) + tau;
        }
        if let Some(z) = cholesky_solve(&damped, v) {
            return Some(z);
        }
        tau *= 2.0;
    }
    None
}

/// Newton's method with an Armijo backtracking line search. `fgh(x, grad, hess)` returns the
/// objective and writes its gradient and its Hessian (row-major `n × n`).
///
/// Near the minimum it needs a handful of evaluations where BFGS needs a dozen. Where the
/// Hessian is not positive definite (far from the minimum), the step is taken with the Hessian
/// plus a multiple of the identity that makes it so (`damped_solve`). Converged when the
/// largest absolute gradient component is at most `gtol` and the Hessian there is positive
/// definite (a minimum, not a saddle). Otherwise it gives up, with `converged` false and the
/// evaluations it spent: when the line search cannot decrease the objective, at a flat point
/// that is no minimum, or after `max_iter` iterations; callers then take a method that copes
/// (BFGS). A step whose change in the objective is within rounding of it is accepted when it
/// lowers the gradient: that close to the minimum the objective alone can no longer tell
/// better from worse.
pub fn newton<F: FnMut(&[f64], &mut [f64], &mut [f64]) -> f64>(
    mut fgh: F,
    x0: &[f64],
    gtol: f64,
    max_iter: usize,
) -> OptimResult {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut h = vec![0.0; n * n];
    let mut evals = 1usize;
    let mut fx = fgh(&x, &mut g, &mut h);
    let (mut xn, mut gn, mut hn) = (vec![0.0; n], vec![0.0; n], vec![0.0; n * n]);
    let largest = |g: &[f64]| g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut iter = 0;
    let converged = loop {
        if !fx.is_finite() {
            break false;
        }
        if largest(&g) <= gtol {
            break cholesky_solve(&h, &g).is_some();
        }
        if iter == max_iter {
            break false;
        }
        iter += 1;
        let Some(z) = damped_solve(&h, &g, n) else {
            break false;
        };
        let d: Vec<f64> = z.iter().map(|v| -v).collect();
        let slope = dot(&d, &g);
        if slope.is_nan() || slope >= 0.0 {
            break false;
        }
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..30 {
            for i in 0..n {
                xn[i] = x[i] + step * d[i];
            }
            evals += 1;
            let fnew = fgh(&xn, &mut gn, &mut hn);
            let armijo = fnew <= fx + 1e-4 * step * slope;
            let within_rounding =
                (fnew - fx).abs() <= 1e-14 * fx.abs().max(1.0) && largest(&gn) < largest(&g);
            if fnew.is_finite() && (armijo || within_rounding) {
                accepted = Some(fnew);
                break;
            }
            step *= 0.5;
        }
        let Some(fnew) = accepted else {
            break false;
        };
        fx = fnew;
        std::mem::swap(&mut x, &mut xn);
        std::mem::swap(&mut g, &mut gn);
        std::mem::swap(&mut h, &mut hn);
    };
    OptimResult {
        x,
        f: fx,
        iterations: iter,
        evaluations: evals,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosen(x: &[f64]) -> f64 {
        (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
    }

    fn rosen_g(x: &[f64], g: &mut [f64]) -> f64 {
        g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
        g[1] = 200.0 * (x[1] - x[0] * x[0]);
        rosen(x)
    }

    #[test]
    fn nelder_mead_rosenbrock() {
        let r = nelder_mead(rosen, &[-1.2, 1.0], 0.5, 1e-14, 1e-9, 10_000);
        assert!(r.converged);
        assert!(
            (r.x[0] - 1.0).abs() < 1e-5 && (r.x[1] - 1.0).abs() < 1e-5,
            "{r:?}"
        );
    }

    #[test]
    fn nelder_mead_quadratic_4d() {
        let c = [1.0, -2.0, 3.0, 0.5];
        let f = |x: &[f64]| {
            x.iter()
                .zip(&c)
                .enumerate()
                .map(|(i, (a, b))| (i as f64 + 1.0) * (a - b).powi(2))
                .sum()
        };
        let r = nelder_mead(f, &[0.0; 4], 1.0, 1e-16, 1e-9, 20_000);
        for (a, b) in r.x.iter().zip(&c) {
            assert!((a - b).abs() < 1e-6, "{r:?}");
        }
    }

    #[test]
    fn bfgs_rosenbrock() {
        let r = bfgs(rosen_g, &[-1.2, 1.0], 1e-10, 1000);
        assert!(r.converged, "{r:?}");
        assert!(
            (r.x[0] - 1.0).abs() < 1e-6 && (r.x[1] - 1.0).abs() < 1e-6,
            "{r:?}"
        );
    }

    #[test]
    fn bfgs_warm_start_converges_faster() {
        let (r1, h) = bfgs_warm(rosen_g, &[-1.2, 1.0], None, 1e-10, 1000);
        let (r2, _) = bfgs_warm(rosen_g, &[0.9, 0.8], Some(&h), 1e-10, 1000);
        assert!(r2.converged && (r2.x[0] - 1.0).abs() < 1e-6, "{r2:?}");
        assert!(r2.iterations < r1.iterations);
    }

    #[test]
    fn newton_converges_in_few_steps_and_damps_where_the_hessian_is_not_definite() {
        let rosen_gh = |x: &[f64], g: &mut [f64], h: &mut [f64]| {
            h[0] = 2.0 - 400.0 * (x[1] - 3.0 * x[0] * x[0]);
            h[1] = -400.0 * x[0];
            h[2] = h[1];
            h[3] = 200.0;
            rosen_g(x, g)
        };
        // near the minimum: quadratic convergence
        let r = newton(rosen_gh, &[0.9, 0.8], 1e-10, 50);
        assert!(r.converged && (r.x[0] - 1.0).abs() < 1e-9, "{r:?}");
        let b = bfgs(rosen_g, &[0.9, 0.8], 1e-10, 1000);
        assert!(r.evaluations < b.evaluations, "{r:?} {b:?}");
        // at (0, 1) the Hessian has 2 − 400 < 0 on its diagonal: not positive definite, so
        // the first steps are damped, and it still gets there
        let far = newton(rosen_gh, &[0.0, 1.0], 1e-10, 200);
        assert!(far.converged && (far.x[1] - 1.0).abs() < 1e-8, "{far:?}");
        // too few iterations: not converged, and the evaluations spent are counted
        let short = newton(rosen_gh, &[0.5, 0.2], 1e-10, 1);
        assert!(!short.converged && short.iterations == 1 && short.evaluations >= 2);
        // a Hessian that is not finite cannot be damped into shape
        let nan_h = |x: &[f64], g: &mut [f64], h: &mut [f64]| {
            h.fill(f64::NAN);
            rosen_g(x, g)
        };
        assert!(!newton(nan_h, &[0.5, 0.2], 1e-10, 50).converged);
        // a flat point that is no minimum: the saddle of x² − y² at the origin
        let saddle = |x: &[f64], g: &mut [f64], h: &mut [f64]| {
            g.copy_from_slice(&[2.0 * x[0], -2.0 * x[1]]);
            h.copy_from_slice(&[2.0, 0.0, 0.0, -2.0]);
            x[0] * x[0] - x[1] * x[1]
        };
        let at_saddle = newton(saddle, &[0.0, 0.0], 1e-10, 50);
        assert!(!at_saddle.converged, "{at_saddle:?}");
    }

    #[test]
    fn cholesky_solves_and_refuses_an_indefinite_matrix() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let z = cholesky_solve(&a, &[2.0, 1.0]).unwrap();
        assert!((4.0 * z[0] + 2.0 * z[1] - 2.0).abs() < 1e-14);
        assert!((2.0 * z[0] + 3.0 * z[1] - 1.0).abs() < 1e-14);
        assert!(cholesky_solve(&[1.0, 2.0, 2.0, 1.0], &[1.0, 1.0]).is_none());
        assert!(cholesky_solve(&[f64::NAN, 0.0, 0.0, 1.0], &[1.0, 1.0]).is_none());
    }

    #[test]
    fn bfgs_handles_infinite_region() {
        // minimum at x = 2 of x - 4 ln x style function, undefined for x <= 0
        let fg = |x: &[f64], g: &mut [f64]| {
            if x[0] <= 0.0 {
                g[0] = 0.0;
                return f64::INFINITY;
            }
            g[0] = 1.0 - 2.0 / x[0];
            x[0] - 2.0 * x[0].ln()
        };
        let r = bfgs(fg, &[20.0], 1e-12, 200);
        assert!((r.x[0] - 2.0).abs() < 1e-7, "{r:?}");
    }
}
