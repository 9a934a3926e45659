// gemm.cl: C = act(alpha·op(A)·op(B) + bias + beta·C), row-major float32.
//
// One kernel family, two shapes of the same computation:
//
//   LOCAL == 0 (CPUs): a BLIS-style micro-kernel per work-item. Each
//   work-item owns an mc×nc block of C (run-time arguments) and computes it
//   in MWI×NWI register tiles whose NWI columns are contiguous, so that B
//   is read as vectors of VW floats and A is broadcast; K is walked in
//   blocks of kc so that an NWI-wide panel of B stays in L1 while the
//   block's rows pass over it. B is read in place, or packed into NWI-wide
//   panels by pack.cl (PACKED_B). No local memory and no barriers.
//
//   LOCAL == 1 (GPUs): a work-group of MDIM×NDIM work-items owns an
//   MWG×NWG tile of C (MWG = MDIM·MWI, NWG = NDIM·NWI) and stages KWG-deep
//   slices of A and B in local memory; each work-item's MWI×NWI elements
//   are strided by MDIM and NDIM so that neighbouring work-items touch
//   neighbouring addresses.
//
//        N →                    work-item (lm, ln) of a LOCAL == 1 group
//   M  ┌───────────┐            owns rows lm, lm+MDIM, ... and columns
//   ↓  │ MWG × NWG │ ← group    ln, ln+NDIM, ... of the group's tile
//      └───────────┘
//
// Edges: any M, N, K >= 1. Work-items past the edge of C store nothing.
// LOCAL == 1 reads zeros past the edges of A and B; LOCAL == 0 reads row
// M-1 of A again for rows past M (never stored) and zeros past column N of
// B (the packed panels are zero-padded).
//
// Parameters (set with -D; defaults make the file usable on its own):
//   MWI, NWI    register tile of one work-item (NWI a multiple of VW)
//   MDIM, NDIM  work-group size in work-items (rows, columns)
//   KWG         LOCAL == 1: depth of the K slice in local memory;
//               LOCAL == 0: unrolling of the K loop
//   VW          vector width of B loads and C stores (LOCAL == 0)
//   LOCAL       0 or 1, as above
//   TRANS_A, TRANS_B  1 when A (or B) is stored transposed
//   PACKED_B    LOCAL == 0: 1 when B comes packed in panels (pack.cl);
//               TRANS_B is then ignored
//   PACKED_A    LOCAL == 0: 1 when A comes packed in MWI-row panels
//               (pack.cl on op(A)ᵀ: panel t holds rows t·MWI.. of op(A) as
//               K rows of MWI floats); TRANS_A is then ignored
//   BIAS        1 to add the bias vector
//   ACT         the activation (common.cl): linear and relu compiled in,
//               -1 for the others, read from act_kind at run time

#ifndef MWI
#define MWI 4
#endif
#ifndef NWI
#define NWI 8
#endif
#ifndef MDIM
#define MDIM 1
#endif
#ifndef NDIM
#define NDIM 1
#endif
#ifndef KWG
#define KWG 4
#endif
#ifndef LOCAL
#define LOCAL 0
#endif
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif
#ifndef BIAS
#define BIAS 0
#endif
#ifndef PACKED_B
#define PACKED_B 0
#endif
#ifndef PACKED_A
#define PACKED_A 0
#endif

#define MWG (MDIM * MWI)
#define NWG (NDIM * NWI)
#define NVI (NWI / VW)

#if NWI % VW != 0
#error "NWI must be a multiple of VW"
#endif

// Element (i, k) of op(A) and (k, j) of op(B).
#if TRANS_A
#define AE(i, k) A[(k) * lda + (i)]
#else
#define AE(i, k) A[(i) * lda + (k)]
#endif
#if TRANS_B
#define BE(k, j) B[(j) * ldb + (k)]
#else
#define BE(k, j) B[(k) * ldb + (j)]
#endif

#if LOCAL == 0

// AK(i, k): element (m0 + i, k0 + k + kb) of op(A), kb the start of the
// current unrolled group, through pa (packed: the tile's panel at k0 + kb)
// or the row pointers ap[i] (at k0 + kb).
#if PACKED_A
#define AK(i, k) pa[(k) * MWI + (i)]
#elif TRANS_A
#define AK(i, k) ap[i][(k) * lda]
#else
#define AK(i, k) ap[i][k]
#endif

// One step of the micro-kernel: acc += op(A)[rows, k] · op(B)[k, NWI columns],
// B read as NVI vectors through the expression BV(k, v).
#define MICRO_STEP(k)                                                   \
  {                                                                     \
    realV b_[NVI];                                                      \
    _Pragma("unroll") for (int v = 0; v < NVI; v++) { b_[v] = BV(k, v); } \
    _Pragma("unroll") for (int i = 0; i < MWI; i++) {                   \
      const float s_ = AK(i, k);                                        \
      const realV a_ = (realV)s_;                                       \
      _Pragma("unroll") for (int v = 0; v < NVI; v++) {                 \
        acc[i][v] = fma(a_, b_[v], acc[i][v]);                          \
      }                                                                 \
    }                                                                   \
  }

// STORE_TILE writes one MWI×NWI tile of C at (m0, n0) from the accumulators
// of a K block: C = alpha·acc + (first ? beta·C : C), then, after the last
// K block, + bias and the activation. Rows past M and columns past N are
// not written.
#define STORE_TILE()                                                          \
  if (m0 + MWI <= M && n0 + NWI <= N) {                                       \
    STORE_FULL_TILE()                                                         \
  } else {                                                                    \
    STORE_EDGE_TILE()                                                         \
  }

// STORE_FULL_TILE is STORE_TILE for a tile inside C: no checks, the bias
// of the panel (biasv) loaded once per panel, and the common case (one K
// block, C not read; for relu, Keras's defaults) without the branches of
// the general one.
#define STORE_FULL_TILE()                                                     \
  if (first && last && beta == 0.0f) {                                        \
    if (RELU_PLAIN) {                                                         \
      _Pragma("unroll") for (int i = 0; i < MWI; i++) {                       \
        __global float *cp = C + (m0 + i) * ldc + n0;                         \
        _Pragma("unroll") for (int v = 0; v < NVI; v++) {                     \
          const realV x = alpha * acc[i][v] + biasv[v];                       \
          STORE_C(select(x, (realV)0.0f, (intV)(x <= (realV)ap_.threshold)), cp + v * VW); \
        }                                                                     \
      }                                                                       \
    } else {                                                                  \
      _Pragma("unroll") for (int i = 0; i < MWI; i++) {                       \
        __global float *cp = C + (m0 + i) * ldc + n0;                         \
        _Pragma("unroll") for (int v = 0; v < NVI; v++) {                     \
          const realV x = alpha * acc[i][v] + biasv[v];                       \
          STORE_C(activate(x, ap_), cp + v * VW); \
        }                                                                     \
      }                                                                       \
    }                                                                         \
  } else {                                                                    \
    _Pragma("unroll") for (int i = 0; i < MWI; i++) {                         \
      __global float *cp = C + (m0 + i) * ldc + n0;                           \
      _Pragma("unroll") for (int v = 0; v < NVI; v++) {                       \
        realV x = alpha * acc[i][v];                                          \
        if (!first) {                                                         \
          x += LOADV(cp, v * VW);                                             \
        } else if (beta != 0.0f) {                                            \
          x += beta * LOADV(cp, v * VW);                                      \
        }                                                                     \
        if (last) {                                                           \
          x = activate(x + biasv[v], ap_); \
        }                                                                     \
        STORE_C(x, cp + v * VW);                                              \
      }                                                                       \
    }                                                                         \
  }

// RELU_PLAIN is true when ACT is relu with no max_value and no negative
// slope: then activate(x) == (x <= threshold ? 0 : x), NaN kept.
#if ACT == ACT_RELU
#define RELU_PLAIN (ap_.max_value == INFINITY && ap_.alpha == 0.0f)
#else
#define RELU_PLAIN false
#endif

#define STORE_EDGE_TILE()                                                     \
  _Pragma("unroll") for (int i = 0; i < MWI; i++) {                           \
    if (m0 + i < M) {                                                         \
      __global float *cp = C + (m0 + i) * ldc + n0;                           \
      _Pragma("unroll") for (int v = 0; v < NVI; v++) {                       \
        const int col = n0 + v * VW;                                          \
        realV x = alpha * acc[i][v];                                          \
        if (col + VW <= N) {                                                  \
          if (!first) {                                                       \
            x += LOADV(cp, v * VW);                                           \
          } else if (beta != 0.0f) {                                          \
            x += beta * LOADV(cp, v * VW);                                    \
          }                                                                   \
          if (last) {                                                         \
            x = finish(x, bias, col, ap_);                                    \
          }                                                                   \
          STORE_C(x, cp + v * VW);                                            \
        } else if (col < N) {                                                 \
          float t_[VW], u_[VW];                                               \
          STOREV(x, t_, 0);                                                   \
          for (int e = 0; e < VW; e++) {                                      \
            u_[e] = 0.0f;                                                     \
            if (col + e < N) {                                                \
              if (!first) {                                                   \
                t_[e] += cp[v * VW + e];                                      \
              } else if (beta != 0.0f) {                                      \
                t_[e] += beta * cp[v * VW + e];                               \
              }                                                               \
              if (BIAS) {                                                     \
                u_[e] = bias[col + e];                                        \
              }                                                               \
            }                                                                 \
          }                                                                   \
          x = LOADV(t_, 0);                                                   \
          if (last) {                                                         \
            x = activate(x + LOADV(u_, 0), ap_); \
          }                                                                   \
          STOREV(x, t_, 0);                                                   \
          for (int e = 0; e < VW && col + e < N; e++) {                       \
            cp[v * VW + e] = t_[e];                                           \
          }                                                                   \
        }                                                                     \
      }                                                                       \
    }                                                                         \
  }

// loadB_edge returns op(B)[k, j .. j+VW-1], zeros past column N.
static inline realV loadB_edge(__global const float *restrict B, const int ldb, const int N,
                               const int k, const int j) {
  float t[VW];
#pragma unroll
  for (int e = 0; e < VW; e++) {
    t[e] = j + e < N ? BE(k, j + e) : 0.0f;
  }
#if VW == 1
  return t[0];
#else
  return LOADV(t, 0);
#endif
}

// STORE_C stores VW full columns of C at p: with a non-temporal store
// (past the caches, no read for ownership) when the kernel's nt argument
// asks for it and every row of C is aligned to the vector (nt_ok), on the
// last K block; else a plain one.
#if VW > 1
#define STORE_C(x, p)                                                   \
  if (nt_ok && last) {                                                  \
    __builtin_nontemporal_store((x), (__global realV *)(p));            \
  } else {                                                              \
    STOREV((x), (p), 0);                                                \
  }
#else
#define STORE_C(x, p) STOREV((x), (p), 0);
#endif

// finish adds the bias of VW full columns from col and applies ACT.
static inline realV finish(realV x, __global const float *bias, int col, act_params ap) {
#if BIAS
  x += LOADV(bias, col);
#endif
  return activate(x, ap);
}

// A work-item owns an mc×nc block of C (mc a multiple of MWI, nc of NWI)
// and walks it BLIS-style: K in blocks of kc; per block, for each NWI-wide
// panel of B (which stays in L1 across the block's rows), for each MWI-row
// tile, the MWI×NWI accumulators live in registers over the kc-long loop.
// PACKED_B == 1: B is packed (pack.cl): panel p holds columns p·NWI ..
// p·NWI+NWI-1 of op(B) as K rows of NWI floats, zeros past N.
__kernel __attribute__((reqd_work_group_size(NDIM, MDIM, 1)))
void gemm(const int M, const int N, const int K, const float alpha, const float beta,
          __global const float *restrict A, const int offA, const int lda,
          __global const float *restrict B, const int offB, const int ldb,
          __global float *C, const int offC, const int ldc,
          __global const float *restrict bias, const int offBias,
          const float act_alpha, const float act_max, const float act_threshold, const int act_kind,
          const int mc, const int nc, const int kc, const int nt) {
  const int mb = get_global_id(1) * mc;
  const int nb = get_global_id(0) * nc;
  if (mb >= M || nb >= N) {
    return;
  }
  const int me = min(mb + mc, M);
  const int ne = min(nb + nc, N);
  A += offA;
  B += offB;
  C += offC;
  bias += offBias;
  const act_params ap_ = {act_alpha, act_max, act_threshold, act_kind};
  // Full vectors of C start at multiples of VW columns from n0.
  const bool nt_ok = nt && ((ulong)C & (VW * 4 - 1)) == 0 && ldc % VW == 0;

  for (int k0 = 0; k0 < K; k0 += kc) {
    const int kl = min(kc, K - k0);
    const bool first = k0 == 0;
    const bool last = k0 + kc >= K;
    for (int n0 = nb; n0 < ne; n0 += NWI) {
#if PACKED_B
      __global const float *bp = B + (n0 / NWI) * (K * NWI) + k0 * NWI;
      const bool fast = true;
#elif TRANS_B
      __global const float *bp = B;
      const bool fast = false;
#else
      __global const float *bp = B + k0 * ldb + n0;
      const bool fast = n0 + NWI <= N;
#endif
      // The bias of the panel's full vectors (zeros without bias).
      realV biasv[NVI];
#pragma unroll
      for (int v = 0; v < NVI; v++) {
#if BIAS
        biasv[v] = n0 + (v + 1) * VW <= N ? LOADV(bias, n0 + v * VW) : (realV)0.0f;
#else
        biasv[v] = (realV)0.0f;
#endif
      }
      for (int m0 = mb; m0 < me; m0 += MWI) {
#if PACKED_A
        __global const float *pa = A + (m0 / MWI) * (K * MWI) + k0 * MWI;
#define ADVANCE_A(n) pa += (n) * MWI;
#else
        __global const float *ap[MWI];
#pragma unroll
        for (int i = 0; i < MWI; i++) {
          const int row = min(m0 + i, M - 1);
#if TRANS_A
          ap[i] = A + k0 * lda + row;
#else
          ap[i] = A + row * lda + k0;
#endif
        }
#if TRANS_A
#define ADVANCE_A(n) _Pragma("unroll") for (int i = 0; i < MWI; i++) { ap[i] += (n) * lda; }
#else
#define ADVANCE_A(n) _Pragma("unroll") for (int i = 0; i < MWI; i++) { ap[i] += (n); }
#endif
#endif
        realV acc[MWI][NVI];
#pragma unroll
        for (int i = 0; i < MWI; i++) {
#pragma unroll
          for (int v = 0; v < NVI; v++) {
            acc[i][v] = (realV)0.0f;
          }
        }
        if (fast) {
          __global const float *pb = bp;
#if PACKED_B
#define BV(k, v) LOADV(pb, (k) * NWI + (v) * VW)
#define ADVANCE_B(n) pb += (n) * NWI;
#else
#define BV(k, v) LOADV(pb, (k) * ldb + (v) * VW)
#define ADVANCE_B(n) pb += (n) * ldb;
#endif
          int k = 0;
          for (; k + KWG <= kl; k += KWG) {
#pragma unroll
            for (int kk = 0; kk < KWG; kk++) {
              MICRO_STEP(kk)
            }
            ADVANCE_A(KWG)
            ADVANCE_B(KWG)
          }
          for (; k < kl; k++) {
            MICRO_STEP(0)
            ADVANCE_A(1)
            ADVANCE_B(1)
          }
#undef BV
#undef ADVANCE_B
        } else {
          // Edge panel of an unpacked B, or a transposed one: gather.
#define BV(k_, v) loadB_edge(B, ldb, N, k0 + k, n0 + (v) * VW)
          for (int k = 0; k < kl; k++) {
            MICRO_STEP(0)
            ADVANCE_A(1)
          }
#undef BV
        }
#undef ADVANCE_A
        STORE_TILE()
      }
    }
  }
#if defined(__x86_64__) || defined(__i386__)
  if (nt_ok) {
    // Non-temporal stores are weakly ordered: fence them before the
    // work-item ends (PoCL's completion of the command also orders them,
    // through locked instructions; this does not rely on it).
    __builtin_ia32_sfence();
  }
#endif
}

#else // LOCAL == 1

__kernel __attribute__((reqd_work_group_size(NDIM, MDIM, 1)))
void gemm(const int M, const int N, const int K, const float alpha, const float beta,
          __global const float *restrict A, const int offA, const int lda,
          __global const float *restrict B, const int offB, const int ldb,
          __global float *C, const int offC, const int ldc,
          __global const float *restrict bias, const int offBias,
          const float act_alpha, const float act_max, const float act_threshold, const int act_kind,
          const int mc, const int nc, const int kc, const int nt) {
  __local float As[KWG][MWG + 1];
  __local float Bs[KWG][NWG + 1];
  const int lm = get_local_id(1);
  const int ln = get_local_id(0);
  const int gm = get_group_id(1) * MWG;
  const int gn = get_group_id(0) * NWG;
  const int tid = lm * NDIM + ln;
  A += offA;
  B += offB;
  C += offC;
  bias += offBias;
  act_params ap = {act_alpha, act_max, act_threshold, act_kind};

  float acc[MWI][NWI];
#pragma unroll
  for (int i = 0; i < MWI; i++) {
#pragma unroll
    for (int j = 0; j < NWI; j++) {
      acc[i][j] = 0.0f;
    }
  }

  for (int k0 = 0; k0 < K; k0 += KWG) {
    // Stage op(A)[gm.., k0..] and op(B)[k0.., gn..], zeros past the edges.
    for (int t = tid; t < KWG * MWG; t += MDIM * NDIM) {
#if TRANS_A
      const int kk = t / MWG, i = t % MWG;
#else
      const int i = t / KWG, kk = t % KWG;
#endif
      const int gi = gm + i, gk = k0 + kk;
      As[kk][i] = (gi < M && gk < K) ? AE(gi, gk) : 0.0f;
    }
    for (int t = tid; t < KWG * NWG; t += MDIM * NDIM) {
#if TRANS_B
      const int j = t / KWG, kk = t % KWG;
#else
      const int kk = t / NWG, j = t % NWG;
#endif
      const int gj = gn + j, gk = k0 + kk;
      Bs[kk][j] = (gj < N && gk < K) ? BE(gk, gj) : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
    for (int kk = 0; kk < KWG; kk++) {
      float b[NWI];
#pragma unroll
      for (int j = 0; j < NWI; j++) {
        b[j] = Bs[kk][ln + j * NDIM];
      }
#pragma unroll
      for (int i = 0; i < MWI; i++) {
        const float a = As[kk][lm + i * MDIM];
#pragma unroll
        for (int j = 0; j < NWI; j++) {
          acc[i][j] = fma(a, b[j], acc[i][j]);
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

#pragma unroll
  for (int i = 0; i < MWI; i++) {
    const int row = gm + lm + i * MDIM;
#pragma unroll
    for (int j = 0; j < NWI; j++) {
      const int col = gn + ln + j * NDIM;
      if (row < M && col < N) {
        __global float *cp = C + row * ldc + col;
        float v = alpha * acc[i][j];
#if BIAS
        v += bias[col];
#endif
        if (beta != 0.0f) {
          v += beta * cp[0];
        }
#if VW == 1
        cp[0] = activate(v, ap);
#else
        cp[0] = activate((realV)v, ap).s0;
#endif
      }
    }
  }
}

#endif
