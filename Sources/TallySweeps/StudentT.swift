import Foundation

/// Student's t distribution: the CDF through the regularized incomplete beta function, and the
/// quantile by a safeguarded Newton iteration on that CDF (accurate to about 1e-12).
public enum StudentT {
    /// P(T ≤ t) for `degreesOfFreedom` ν > 0:
    /// for t > 0, `1 − ½ · I_{ν/(ν+t²)}(ν/2, ½)`; symmetric for t < 0.
    public static func cdf(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        if t.isNaN || !(nu > 0) { return .nan }
        if t == 0 { return 0.5 }
        let tail = upperTail(abs(t), nu: nu)
        return t > 0 ? 1 - tail : tail
    }

    /// The density at `t`.
    public static func pdf(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        exp(logPDF(t, nu: nu))
    }

    /// The `p`-quantile: the t with `cdf(t) = p`, for p in (0, 1) and ν > 0 (±infinity at 0 and
    /// 1, NaN outside).
    public static func quantile(_ p: Double, degreesOfFreedom nu: Double) -> Double {
        guard p >= 0, p <= 1, nu > 0 else { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p == 0.5 { return 0 }
        if p < 0.5 { return -quantile(1 - p, degreesOfFreedom: nu) }
        let target = 1 - p  // the upper tail wanted, in (0, 0.5)
        var low = 0.0
        var high = 1.0
        while upperTail(high, nu: nu) > target {
            low = high
            high *= 2
            if high > 1e300 { return .infinity }
        }
        var t = 0.5 * (low + high)
        for _ in 0..<200 {
            let error = upperTail(t, nu: nu) - target  // decreasing in t
            if error == 0 { return t }
            if error > 0 { low = t } else { high = t }
            var next = t + error / exp(logPDF(t, nu: nu))
            if !(next > low && next < high) { next = 0.5 * (low + high) }
            if abs(next - t) <= 1e-15 * t || high - low <= 1e-15 * high { return next }
            t = next
        }
        return t
    }

    /// P(T > t) for t ≥ 0.
    static func upperTail(_ t: Double, nu: Double) -> Double {
        0.5 * regularizedIncompleteBeta(a: nu / 2, b: 0.5, x: nu / (nu + t * t))
    }

    static func logPDF(_ t: Double, nu: Double) -> Double {
        lgamma((nu + 1) / 2) - lgamma(nu / 2) - 0.5 * log(nu * Double.pi) - (nu + 1) / 2 * log1p(t * t / nu)
    }
}
