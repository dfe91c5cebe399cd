import Foundation

/// The standard normal distribution's functions used by the Parzen estimators.
enum Gaussian {
    static let logSqrtTwoPi = 0.5 * log(2 * Double.pi)

    /// Φ(z), accurate in the lower tail.
    static func cdf(_ z: Double) -> Double {
        0.5 * erfc(-z / 2.0.squareRoot())
    }

    /// log φ(z).
    static func logPDF(_ z: Double) -> Double {
        -0.5 * z * z - logSqrtTwoPi
    }

    /// Φ(b) − Φ(a) for a ≤ b, computed in the tail that keeps its precision.
    static func mass(_ a: Double, _ b: Double) -> Double {
        if a > 0 { return cdf(-a) - cdf(-b) }
        return cdf(b) - cdf(a)
    }

    /// log(Φ(b) − Φ(a)) for a < b; when the difference underflows, the midpoint rule.
    static func logMass(_ a: Double, _ b: Double) -> Double {
        let m = mass(a, b)
        if m > 1e-300 { return log(m) }
        return logPDF(abs(a) < abs(b) ? a : b) + log(b - a)
    }

    /// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation refined by one Halley step.
    static func quantile(_ p: Double) -> Double {
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5
            let r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let e = cdf(x) - p
        let u = e * exp(-logPDF(x))
        x -= u / (1 + x * u / 2)
        return x
    }

    /// A standard normal draw truncated to `[a, b]`, by inversion of the CDF in the tail that
    /// keeps its precision; `u` is uniform in `[0, 1)`.
    static func truncatedSample(_ a: Double, _ b: Double, u: Double) -> Double {
        if a > 0 { return -truncatedSample(-b, -a, u: u) }
        let pa = cdf(a)
        let pb = cdf(b)
        guard pb - pa > 1e-300 else { return a + (b - a) * u }
        let z = quantile(pa + u * (pb - pa))
        return min(max(z, a), b)
    }

    /// log Σ exp(values), stable.
    static func logSumExp(_ values: [Double]) -> Double {
        guard let top = values.max(), top.isFinite else { return values.max() ?? -.infinity }
        return top + log(values.reduce(0) { $0 + exp($1 - top) })
    }
}
