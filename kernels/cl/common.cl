// common.cl: vector types and the activations of densecl's kernels.
//
// Parameters (each may be set with -D; the defaults keep the file usable
// on its own):
//   VW   vector width of the column dimension: 1, 2, 4, 8 or 16
//   ACT  the activation, a kernels.ActKind value (0 = linear), or -1 for
//        the kind given at run time in act_params.kind (one program for
//        every activation)

#ifndef VW
#define VW 1
#endif
#ifndef ACT
#define ACT 0
#endif

#if VW == 1
typedef float realV;
typedef int intV;
#define LOADV(p, i) ((p)[i])
#define STOREV(v, p, i) ((p)[i] = (v))
#elif VW == 2
typedef float2 realV;
typedef int2 intV;
#define LOADV(p, i) vload2(0, (p) + (i))
#define STOREV(v, p, i) vstore2((v), 0, (p) + (i))
#elif VW == 4
typedef float4 realV;
typedef int4 intV;
#define LOADV(p, i) vload4(0, (p) + (i))
#define STOREV(v, p, i) vstore4((v), 0, (p) + (i))
#elif VW == 8
typedef float8 realV;
typedef int8 intV;
#define LOADV(p, i) vload8(0, (p) + (i))
#define STOREV(v, p, i) vstore8((v), 0, (p) + (i))
#elif VW == 16
typedef float16 realV;
typedef int16 intV;
#define LOADV(p, i) vload16(0, (p) + (i))
#define STOREV(v, p, i) vstore16((v), 0, (p) + (i))
#else
#error "VW must be 1, 2, 4, 8 or 16"
#endif

// The ActKind values of kernels/activation.go.
#define ACT_LINEAR 0
#define ACT_RELU 1
#define ACT_RELU6 2
#define ACT_LEAKY_RELU 3
#define ACT_SIGMOID 4
#define ACT_TANH 5
#define ACT_ELU 6
#define ACT_SELU 7
#define ACT_SOFTPLUS 8
#define ACT_SOFTSIGN 9
#define ACT_SILU 10
#define ACT_GELU 11
#define ACT_GELU_TANH 12
#define ACT_EXPONENTIAL 13
#define ACT_HARD_SIGMOID 14
#define ACT_HARD_SIGMOID_K2 15
#define ACT_HARD_SILU 16
#define ACT_MISH 17
#define ACT_LOG_SIGMOID 18
#define ACT_CELU 19
#define ACT_HARD_TANH 20
// relu with its default arguments (kernels.Activation.KernelKind).
#define ACT_RELU_PLAIN 21

// Activation parameters, passed to every kernel that applies one.
typedef struct {
  float alpha;     // relu/leaky_relu negative slope, elu/celu alpha
  float max_value; // relu max_value, +INF when unset
  float threshold; // relu threshold
  int kind;        // the ACT_ kind, read when ACT == -1
} act_params;

static inline realV softplusV(realV x) {
  return log1p(exp(-fabs(x))) + fmax(x, (realV)0.0f);
}

static inline realV sigmoidV(realV x) {
  realV e = exp(-fabs(x));
  realV s = (realV)1.0f / ((realV)1.0f + e);
  return select(e * s, s, (intV)(x >= (realV)0.0f));
}

static inline realV clipV(realV x, float lo, float hi) {
  return fmin(fmax(x, (realV)lo), (realV)hi);
}

// fmaV is a·b + c in one rounding.
static inline realV fmaV(realV a, realV b, float c) {
  return fma(a, b, (realV)c);
}

// erfV is erf(x) in plain arithmetic, branch-free, so that it vectorizes
// (the built-in erf is a scalar library call per lane on PoCL). Two
// pieces, both evaluated and chosen per lane:
//   |x| < 1:   erf(x) = x·(C0HI + R), R = C0LO + x²·Q(x²), where 2/√π =
//              C0HI + C0LO in two floats, so that the leading term is
//              rounded only once (by the final fma);
//   |x| >= 1:  erf(x) = ±(1 − E(u)), u = min(|x|, 4) − 2.5, E ≈ erfc on
//              [1, 4]; past 4, erfc < 2^-25 and 1 − E rounds to 1.
// Q (degree 5) and E (degree 15) are minimax fits made in float64 with
// numpy (Lawson's iteratively reweighted least squares on 3000 Chebyshev
// nodes), Q for the relative error of erf on [0, 1], E for the absolute
// error of erfc on [1, 4], their coefficients rounded to float one at a
// time from the lowest degree, the higher ones refitted after each
// rounding. Fit errors: 1.5e-9 relative, 6.1e-10 absolute. Evaluated in
// float (10^6 points of [0, 4.5]), erfV is within 1.23·2^-24 of erf and
// 1.46·2^-24·|erf|; gelu with it is within 0.98 ulp for x > 0 and
// 8.1e-8·0.5|x| for x < 0 (device/erf_test.go). NaN gives NaN (the |x| < 1
// piece is chosen unless |x| >= 1), ±Inf ±1, ±0 ±0.
static inline realV erfV(realV x) {
  const realV t = fabs(x);
  const realV s = x * x;
  realV r = (realV)7.842549e-5f;
  r = fmaV(r, s, -8.0093986e-4f);
  r = fmaV(r, s, 5.1885983e-3f);
  r = fmaV(r, s, -2.6854202e-2f);
  r = fmaV(r, s, 1.1283603e-1f);
  r = fmaV(r, s, -3.761263e-1f);
  r = fmaV(r, s, -5.8635383e-8f); // C0LO
  const realV small = fma(x, (realV)1.1283792f, x * r); // C0HI
  const realV u = fmin(t, (realV)4.0f) - 2.5f;
  realV e = (realV)3.4924093e-7f;
  e = fmaV(e, u, -8.876023e-7f);
  e = fmaV(e, u, -3.446887e-6f);
  e = fmaV(e, u, 1.5700361e-5f);
  e = fmaV(e, u, -7.804141e-6f);
  e = fmaV(e, u, -8.104529e-5f);
  e = fmaV(e, u, 2.5349652e-4f);
  e = fmaV(e, u, -2.588096e-4f);
  e = fmaV(e, u, -5.445915e-4f);
  e = fmaV(e, u, 2.7976132e-3f);
  e = fmaV(e, u, -6.1165644e-3f);
  e = fmaV(e, u, 8.622584e-3f);
  e = fmaV(e, u, -8.350216e-3f);
  e = fmaV(e, u, 5.4456913e-3f);
  e = fmaV(e, u, -2.1782783e-3f);
  e = fmaV(e, u, 4.069523e-4f);
  const realV big = copysign((realV)1.0f - e, x);
  return select(small, big, (intV)(t >= (realV)1.0f));
}

// activate_kind applies the activation kind (an ACT_ value) to x. When
// kind is a compile-time constant the switch folds away.
static inline realV activate_kind(realV x, const int kind, float alpha, float max_value, float threshold) {
  realV y;
  switch (kind) {
  case ACT_LINEAR:
    return x;
  case ACT_RELU_PLAIN:
    // x < 0 is false for NaN, which passes through.
    return select(x, (realV)0.0f, (intV)(x < (realV)0.0f));
  case ACT_RELU:
    y = select((realV)0.0f, x, (intV)(x > (realV)threshold));
    if (max_value < INFINITY) {
      y = fmin(fmax(y, (realV)0.0f), (realV)max_value);
    }
    if (alpha != 0.0f) {
      y -= alpha * fmax((realV)threshold - x, (realV)0.0f);
    }
    break;
  case ACT_RELU6:
    y = clipV(x, 0.0f, 6.0f);
    break;
  case ACT_LEAKY_RELU:
    y = select(alpha * x, x, (intV)(x >= (realV)0.0f));
    break;
  case ACT_SIGMOID:
    y = sigmoidV(x);
    break;
  case ACT_TANH:
    y = tanh(x);
    break;
  case ACT_ELU:
    y = select(alpha * expm1(x), x, (intV)(x > (realV)0.0f));
    break;
  case ACT_SELU:
    y = 1.0507009873554804934193349852946f *
        select(1.6732632423543772848170429916717f * expm1(x), x, (intV)(x > (realV)0.0f));
    break;
  case ACT_SOFTPLUS:
    y = softplusV(x);
    break;
  case ACT_SOFTSIGN:
    y = x / ((realV)1.0f + fabs(x));
    break;
  case ACT_SILU:
    y = x * sigmoidV(x);
    break;
  case ACT_GELU:
    // 0.5x + 0.5x·erf(x/√2) with one rounding. gelu(x) has the sign of x:
    // copysign keeps the -0 of x = -0 and of large negative x (where the
    // fma's exact cancellation gives +0), as 0.5x·(1 + erf) did.
    y = 0.5f * x;
    y = copysign(fma(y, erfV(x * 0.70710678118654752440f), y), x);
    break;
  case ACT_GELU_TANH:
    y = 0.5f * x * ((realV)1.0f + tanh(0.79788456080286535588f * (x + 0.044715f * x * x * x)));
    break;
  case ACT_EXPONENTIAL:
    y = exp(x);
    break;
  case ACT_HARD_SIGMOID:
    y = clipV(x / 6.0f + 0.5f, 0.0f, 1.0f);
    break;
  case ACT_HARD_SIGMOID_K2:
    y = clipV(0.2f * x + 0.5f, 0.0f, 1.0f);
    break;
  case ACT_HARD_SILU:
    y = x * clipV(x / 6.0f + 0.5f, 0.0f, 1.0f);
    break;
  case ACT_MISH:
    y = x * tanh(softplusV(x));
    break;
  case ACT_LOG_SIGMOID:
    y = -softplusV(-x);
    break;
  case ACT_CELU:
    y = fmax(x, (realV)0.0f) + alpha * expm1(fmin(x, (realV)0.0f) / alpha);
    break;
  case ACT_HARD_TANH:
    y = clipV(x, -1.0f, 1.0f);
    break;
  default:
    y = (realV)NAN;
  }
  // NaN propagates through every activation (x != x: one compare, where
  // isnan is integer arithmetic on some compilers).
  return select(y, x, (intV)(x != x));
}

// activate applies ACT to x, or ap.kind when ACT is -1.
static inline realV activate(realV x, act_params ap) {
#if ACT >= 0
  return activate_kind(x, ACT, ap.alpha, ap.max_value, ap.threshold);
#else
  return activate_kind(x, ap.kind, ap.alpha, ap.max_value, ap.threshold);
#endif
}

// SOFTMAX_ROW_IN_PLACE(h, n, mode) applies softmax (mode 1) or
// log_softmax (mode 2) to the n floats at h, in place, the row's maximum
// subtracted; a NaN anywhere in the row makes the row NaN. A macro, so
// that h may point to private or local memory (the chain kernels' CPU and
// GPU forms).
#define SOFTMAX_ROW_IN_PLACE(h, n, mode)                                   \
  do {                                                                     \
    float m_ = (h)[0];                                                     \
    for (int j_ = 1; j_ < (n); j_++) {                                     \
      m_ = ((h)[j_] > m_ || isnan((h)[j_])) ? (h)[j_] : m_;                \
    }                                                                      \
    float s_ = 0.0f;                                                       \
    if ((mode) == 2) {                                                     \
      for (int j_ = 0; j_ < (n); j_++) {                                   \
        s_ += exp((h)[j_] - m_);                                           \
      }                                                                    \
      const float ls_ = m_ + log(s_);                                      \
      for (int j_ = 0; j_ < (n); j_++) {                                   \
        (h)[j_] -= ls_;                                                    \
      }                                                                    \
    } else {                                                               \
      for (int j_ = 0; j_ < (n); j_++) {                                   \
        const float e_ = exp((h)[j_] - m_);                                \
        (h)[j_] = e_;                                                      \
        s_ += e_;                                                          \
      }                                                                    \
      const float inv_ = 1.0f / s_;                                        \
      for (int j_ = 0; j_ < (n); j_++) {                                   \
        (h)[j_] *= inv_;                                                   \
      }                                                                    \
    }                                                                      \
  } while (0)
