//! The little linear algebra the models need: dense symmetric positive-definite solves.

/// Solves `a · x = b` for a symmetric positive-definite `a` (row-major, `n × n`) by Cholesky
/// factorisation; `None` when `a` is not positive definite.
pub fn solve_spd(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    debug_assert_eq!(a.len(), n * n);
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let diagonal = a[i * n + i] - dot;
                if diagonal <= 0.0 || !diagonal.is_finite() {
                    return None;
                }
                l[i * n + i] = diagonal.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - dot) / l[j * n + j];
            }
        }
    }
    // Forward substitution (L y = b), then back substitution (Lᵀ x = y).
    let mut y = vec![0.0; n];
    for i in 0..n {
        let dot: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - dot) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let dot: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - dot) / l[i * n + i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn solves_a_small_system() {
        // [[4, 2], [2, 3]] x = [2, 1]  →  x = [0.5, 0]
        let x = solve_spd(&[4.0, 2.0, 2.0, 3.0], &[2.0, 1.0]).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
    }

    #[test]
    fn refuses_an_indefinite_matrix() {
        assert!(solve_spd(&[1.0, 2.0, 2.0, 1.0], &[1.0, 1.0]).is_none());
    }
}
