package report

import "math"

// Student's t distribution, for the sectioning interval's critical value.
// The distribution function is the regularized incomplete beta function,
// evaluated by its continued fraction (Numerical Recipes, 6.4) and inverted
// by bisection: a critical value is needed a few times per verdict, so
// clarity wins over speed.

// TQuantile returns t such that P(T <= t) = p for Student's t with df
// degrees of freedom (df >= 1, 0.5 <= p < 1).
func TQuantile(p float64, df int) float64 {
	lo, hi := 0.0, 1.0
	for tCDF(hi, df) < p {
		lo, hi = hi, hi*2
	}
	for range 100 {
		mid := (lo + hi) / 2
		if tCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// tCDF returns P(T <= t) for t >= 0: 1 - I_x(df/2, 1/2)/2 with
// x = df/(df+t^2).
func tCDF(t float64, df int) float64 {
	v := float64(df)
	return 1 - incBeta(v/(v+t*t), v/2, 0.5)/2
}

// incBeta is the regularized incomplete beta function I_x(a, b).
func incBeta(x, a, b float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(x, a, b) / a
	}
	return 1 - front*betaCF(1-x, b, a)/b
}

// betaCF evaluates the continued fraction of the incomplete beta function
// by the modified Lentz method.
func betaCF(x, a, b float64) float64 {
	const tiny = 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		aa := fm * (b - fm) * x / ((qam + 2*fm) * (a + 2*fm))
		d, c = 1+aa*d, 1+aa/c
		d, c = 1/nonzero(d, tiny), nonzero(c, tiny)
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + 2*fm) * (qap + 2*fm))
		d, c = 1+aa*d, 1+aa/c
		d, c = 1/nonzero(d, tiny), nonzero(c, tiny)
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return h
}

func nonzero(v, tiny float64) float64 {
	if math.Abs(v) < tiny {
		return tiny
	}
	return v
}
