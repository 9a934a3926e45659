// xgemm.cl: the GPU GEMM family, C = act(alpha·op(A)·op(B) + bias + beta·C)
// on row-major float32 matrices, with no padding or packing pass.
//
// A work-group of MDIMC×NDIMC work-items owns an MWG×NWG tile of C and
// walks K in KWG-deep slices. Each work-item accumulates MWI×NWI elements
// of the tile (MWI = MWG/MDIMC, NWI = NWG/NDIMC) in registers, reading
// op(A) and op(B) from local memory (SA, SB) or straight from global
// memory, KWI steps of K per unrolled group:
//
//            N →   gn                         work-item (lm, ln) owns
//   M  gm  ┌──────────┬───               rows ROW(lm, i), i < MWI, and
//   ↓      │ MWG×NWG  │                  columns COL(ln, j), j < NWI:
//          │  tile    │                  STRM/STRN 0: contiguous
//          ├──────────┘                  (lm·MWI + i), 1: strided in
//                                        vectors of VWM (VWN), so that
//   slice k0..k0+KWG of op(A) (MWG×KWG)  neighbouring work-items touch
//   and op(B) (KWG×NWG) in local memory  neighbouring vectors.
//
// Loading a slice into local memory, the work-group is re-shaped: for A,
// MDIMA work-items along M by KDIMA = MDIMC·NDIMC/MDIMA along K; for B,
// NDIMB along N by KDIMB along K. Consecutive work-items take consecutive
// vectors of the operand's stored rows (K for A, M for Aᵀ; N for B, K for
// Bᵀ), so that global loads coalesce whatever the transposition. With DB
// (double buffering) two slices live in local memory: the next slice is
// read into registers before the current one is multiplied and stored
// after, one barrier per slice.
//
// Edges: any M, N, K >= 1. xgemm runs tiles inside C unguarded (aligned
// vector loads and stores) and guards only the work-groups on the M and N
// edges and the last, partial K slice: loads past an edge read zeros,
// stores past it are skipped. The branch is uniform per work-group, so it
// costs interior tiles nothing. xgemm_direct (DIRECT 1), for small and
// skinny products, guards every slice: half the code, so it builds faster.
// Neither needs a padded copy of any operand. Guarding beats CLBlast's
// padding pass here: a pass reads and writes A and B once more, and a
// padded C must be copied back, which would undo the fused epilogue; for
// the skinny products of Dense layers (16384×512×3: C is nearly all the
// traffic) such passes cost as much as the product.
//
// The epilogue, act(alpha·acc + bias + beta·C), is gemm_epilogue
// (epilogue.cl, after common.cl in the program's source).
//
// Element (m, k) of op(A) is A[m·lda + k], or A[k·lda + m] when TRANS_A;
// (k, n) of op(B) is B[k·ldb + n], or B[n·ldb + k] when TRANS_B; (m, n) of
// C is C[m·ldc + n]. A, B, C and bias start at their offsets.
//
// Parameters (set with -D; the defaults make the file usable on its own;
// kernels.GemmParams checks the constraints):
//   MWG, NWG     rows and columns of C per work-group (16..128)
//   KWG          depth of a K slice (4..32); a multiple of KWI
//   MDIMC, NDIMC work-items of a work-group along M and N (8..32);
//                MWG a multiple of MDIMC·VWM, NWG of NDIMC·VWN
//   MDIMA        work-items along M when loading A (SA); divides
//                MDIMC·NDIMC, MWG, and KDIMA divides KWG
//   NDIMB        work-items along N when loading B (SB); likewise
//   KWI          unrolling of the K loop inside a slice (1, 2, 4, 8)
//   VWM          vector width along M of registers and local reads of A;
//                the upper bound of A's global load width
//   VWN          the same along N for B, and for C's stores
//   STRM, STRN   0: a work-item's rows (columns) are contiguous, 1: strided
//   SA, SB       1: stage A (B) in local memory, 0: read it from global
//                memory in the K loop
//   DB           1: double-buffer the local slices (needs SA or SB)
//   DIRECT       1: the direct kernel xgemm_direct; 0: xgemm
// Set by the host per call (kernels.GemmParams.XgemmOptions):
//   VWA          width of A's global loads along its stored rows: VWM, or
//                less where the layout, offset or leading dimension of A
//                does not allow it (loads are aligned vectors)
//   VWB          likewise for B and VWN
//   VW           width of C's stores (common.cl's realV; divides VWN)
//   TRANS_A, TRANS_B, BIAS, ACT  as in gemm.cl

#ifndef MWG
#define MWG 64
#endif
#ifndef NWG
#define NWG 64
#endif
#ifndef KWG
#define KWG 16
#endif
#ifndef MDIMC
#define MDIMC 8
#endif
#ifndef NDIMC
#define NDIMC 8
#endif
#ifndef MDIMA
#define MDIMA 8
#endif
#ifndef NDIMB
#define NDIMB 8
#endif
#ifndef KWI
#define KWI 2
#endif
#ifndef VWM
#define VWM 2
#endif
#ifndef VWN
#define VWN 2
#endif
#ifndef STRM
#define STRM 0
#endif
#ifndef STRN
#define STRN 0
#endif
#ifndef SA
#define SA 1
#endif
#ifndef SB
#define SB 1
#endif
#ifndef DB
#define DB 0
#endif
#ifndef DIRECT
#define DIRECT 0
#endif
#ifndef VWA
#define VWA 1
#endif
#ifndef VWB
#define VWB 1
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

// Derived sizes.
#define WGS (MDIMC * NDIMC)
#define MWI (MWG / MDIMC)
#define NWI (NWG / NDIMC)
#define KDIMA (WGS / MDIMA)
#define KDIMB (WGS / NDIMB)
#define MWA (MWG / MDIMA)
#define KWA (KWG / KDIMA)
#define NWB (NWG / NDIMB)
#define KWB (KWG / KDIMB)
#if DB && (SA || SB)
#define NBUF 2
#else
#define NBUF 1
#endif

#if MWG % (MDIMC * VWM) != 0 || NWG % (NDIMC * VWN) != 0 || KWG % KWI != 0
#error "xgemm: MWG must be a multiple of MDIMC·VWM, NWG of NDIMC·VWN, KWG of KWI"
#endif
#if SA && (WGS % MDIMA != 0 || MWG % MDIMA != 0 || KWG % KDIMA != 0)
#error "xgemm: MDIMA must divide MDIMC·NDIMC and MWG, and KDIMA KWG"
#endif
#if SB && (WGS % NDIMB != 0 || NWG % NDIMB != 0 || KWG % KDIMB != 0)
#error "xgemm: NDIMB must divide MDIMC·NDIMC and NWG, and KDIMB KWG"
#endif
#if MWI % VWM != 0 || VWM % VWA != 0 || NWI % VWN != 0 || VWN % VWB != 0 || VWN % VW != 0
#error "xgemm: VWA must divide VWM, VWB and VW VWN"
#endif

// Vector types and private-array moves of width w.
#define VEC_T(w) VEC_T_(w)
#define VEC_T_(w) VEC_##w
#define VEC_1 float
#define VEC_2 float2
#define VEC_4 float4
#define VEC_8 float8
// VLOADP gathers w floats of a private array into a vector, VSTOREP
// scatters one: component by component, so that the arrays stay in
// registers.
#define VLOADP(w, p) VLOADP_(w, p)
#define VLOADP_(w, p) VLOADP_##w(p)
#define VLOADP_1(p) ((p)[0])
#define VLOADP_2(p) ((float2)((p)[0], (p)[1]))
#define VLOADP_4(p) ((float4)((p)[0], (p)[1], (p)[2], (p)[3]))
#define VLOADP_8(p) ((float8)((p)[0], (p)[1], (p)[2], (p)[3], (p)[4], (p)[5], (p)[6], (p)[7]))
#define VSTOREP(w, v, p) VSTOREP_(w, v, p)
#define VSTOREP_(w, v, p) VSTOREP_##w(v, p)
#define VSTOREP_1(v, p) ((p)[0] = (v))
#define VSTOREP_2(v, p)                                                       \
  {                                                                           \
    const float2 v_ = (v);                                                    \
    (p)[0] = v_.s0;                                                           \
    (p)[1] = v_.s1;                                                           \
  }
#define VSTOREP_4(v, p)                                                       \
  {                                                                           \
    const float4 v_ = (v);                                                    \
    (p)[0] = v_.s0;                                                           \
    (p)[1] = v_.s1;                                                           \
    (p)[2] = v_.s2;                                                           \
    (p)[3] = v_.s3;                                                           \
  }
#define VSTOREP_8(v, p)                                                       \
  {                                                                           \
    const float8 v_ = (v);                                                    \
    (p)[0] = v_.s0;                                                           \
    (p)[1] = v_.s1;                                                           \
    (p)[2] = v_.s2;                                                           \
    (p)[3] = v_.s3;                                                           \
    (p)[4] = v_.s4;                                                           \
    (p)[5] = v_.s5;                                                           \
    (p)[6] = v_.s6;                                                           \
    (p)[7] = v_.s7;                                                           \
  }

// Row of the tile held in a work-item's register row i (i < MWI), and
// column of register column j (j < NWI).
#if STRM
#define ROW(lm, i) (((i) / VWM) * (MDIMC * VWM) + (lm) * VWM + (i) % VWM)
#else
#define ROW(lm, i) ((lm) * MWI + (i))
#endif
#if STRN
#define COL(ln, j) (((j) / VWN) * (NDIMC * VWN) + (ln) * VWN + (j) % VWN)
#else
#define COL(ln, j) ((ln) * NWI + (j))
#endif

// A work-item's share of a slice when loading it: A_SR stored rows of
// A_SC elements, its rows A_RT apart, its vectors A_CT vectors apart.
#if TRANS_A
#define A_SR KWA
#define A_SC MWA
#define A_RT KDIMA
#define A_CT MDIMA
#else
#define A_SR MWA
#define A_SC KWA
#define A_RT MDIMA
#define A_CT KDIMA
#endif
#if TRANS_B
#define B_SR NWB
#define B_SC KWB
#define B_RT NDIMB
#define B_CT KDIMB
#else
#define B_SR KWB
#define B_SC NWB
#define B_RT KDIMB
#define B_CT NDIMB
#endif

#if SA
#if A_SC % VWA != 0
#error "xgemm: VWA must divide a work-item's share of A's stored rows"
#endif
// globalA reads work-item t's share of the A slice at (gm, k0) into r.
static inline void globalA(__global const float *restrict A, const int lda, const int M, const int K,
                           const int gm, const int k0, const int t, float *r, const bool guard) {
  const int tc = t % A_CT, tr = t / A_CT;
#if TRANS_A
  const int r0 = k0, c0 = gm, rl = K, cl = M;
#else
  const int r0 = gm, c0 = k0, rl = M, cl = K;
#endif
#pragma unroll
  for (int i = 0; i < A_SR; i++) {
    const int sr = r0 + tr + i * A_RT;
#pragma unroll
    for (int c = 0; c < A_SC / VWA; c++) {
      const int sc = c0 + (tc + c * A_CT) * VWA;
      float *d = r + i * A_SC + c * VWA;
      if (!guard) {
        VSTOREP(VWA, *(__global const VEC_T(VWA) *)(A + sr * lda + sc), d);
      } else {
#pragma unroll
        for (int e = 0; e < VWA; e++) {
          d[e] = (sr < rl && sc + e < cl) ? A[sr * lda + sc + e] : 0.0f;
        }
      }
    }
  }
}

// localA stores the share r into the slice al, laid out as al[k·MWG + m].
static inline void localA(__local float *al, const float *r, const int t) {
  const int tc = t % A_CT, tr = t / A_CT;
#pragma unroll
  for (int i = 0; i < A_SR; i++) {
    const int sr = tr + i * A_RT;
#pragma unroll
    for (int c = 0; c < A_SC / VWA; c++) {
      const int sc = (tc + c * A_CT) * VWA;
      const float *s = r + i * A_SC + c * VWA;
#if TRANS_A
      *(__local VEC_T(VWA) *)(al + sr * MWG + sc) = VLOADP(VWA, s);
#else
#pragma unroll
      for (int e = 0; e < VWA; e++) {
        al[(sc + e) * MWG + sr] = s[e];
      }
#endif
    }
  }
}
#endif

#if SB
#if B_SC % VWB != 0
#error "xgemm: VWB must divide a work-item's share of B's stored rows"
#endif
// globalB reads work-item t's share of the B slice at (k0, gn) into r.
static inline void globalB(__global const float *restrict B, const int ldb, const int N, const int K,
                           const int gn, const int k0, const int t, float *r, const bool guard) {
  const int tc = t % B_CT, tr = t / B_CT;
#if TRANS_B
  const int r0 = gn, c0 = k0, rl = N, cl = K;
#else
  const int r0 = k0, c0 = gn, rl = K, cl = N;
#endif
#pragma unroll
  for (int i = 0; i < B_SR; i++) {
    const int sr = r0 + tr + i * B_RT;
#pragma unroll
    for (int c = 0; c < B_SC / VWB; c++) {
      const int sc = c0 + (tc + c * B_CT) * VWB;
      float *d = r + i * B_SC + c * VWB;
      if (!guard) {
        VSTOREP(VWB, *(__global const VEC_T(VWB) *)(B + sr * ldb + sc), d);
      } else {
#pragma unroll
        for (int e = 0; e < VWB; e++) {
          d[e] = (sr < rl && sc + e < cl) ? B[sr * ldb + sc + e] : 0.0f;
        }
      }
    }
  }
}

// localB stores the share r into the slice bl, laid out as bl[k·NWG + n].
static inline void localB(__local float *bl, const float *r, const int t) {
  const int tc = t % B_CT, tr = t / B_CT;
#pragma unroll
  for (int i = 0; i < B_SR; i++) {
    const int sr = tr + i * B_RT;
#pragma unroll
    for (int c = 0; c < B_SC / VWB; c++) {
      const int sc = (tc + c * B_CT) * VWB;
      const float *s = r + i * B_SC + c * VWB;
#if TRANS_B
#pragma unroll
      for (int e = 0; e < VWB; e++) {
        bl[(sc + e) * NWG + sr] = s[e];
      }
#else
      *(__local VEC_T(VWB) *)(bl + sr * NWG + sc) = VLOADP(VWB, s);
#endif
    }
  }
}
#endif

// rowA reads the work-item's MWI elements of column k of op(A) into a:
// from the local slice al (SA), else from global memory (guarded: zeros
// past M and K).
#if SA
#define ROW_A(a, k, guard)                                                    \
  _Pragma("unroll") for (int g = 0; g < MWI / VWM; g++) {                     \
    VSTOREP(VWM, *(__local const VEC_T(VWM) *)(al + (k) * MWG + ROW(lm, g * VWM)), (a) + g * VWM); \
  }
#else
#define ROW_A(a, k, guard)                                                    \
  _Pragma("unroll") for (int i = 0; i < MWI; i++) {                           \
    const int m_ = gm + ROW(lm, i), k_ = k0 + (k);                            \
    if (guard) {                                                              \
      (a)[i] = (m_ < M && k_ < K) ? AE(m_, k_) : 0.0f;                        \
    } else {                                                                  \
      (a)[i] = AE(m_, k_);                                                    \
    }                                                                         \
  }
#endif

// ROW_B reads the work-item's NWI elements of row k of op(B) into b.
#if SB
#define ROW_B(b, k, guard)                                                    \
  _Pragma("unroll") for (int g = 0; g < NWI / VWN; g++) {                     \
    VSTOREP(VWN, *(__local const VEC_T(VWN) *)(bl + (k) * NWG + COL(ln, g * VWN)), (b) + g * VWN); \
  }
#elif TRANS_B
#define ROW_B(b, k, guard)                                                    \
  _Pragma("unroll") for (int j = 0; j < NWI; j++) {                           \
    const int n_ = gn + COL(ln, j), k_ = k0 + (k);                            \
    if (guard) {                                                              \
      (b)[j] = (n_ < N && k_ < K) ? BE(k_, n_) : 0.0f;                        \
    } else {                                                                  \
      (b)[j] = BE(k_, n_);                                                    \
    }                                                                         \
  }
#else
// Columns come in runs of VWN (so of VWB): vector loads where unguarded.
#define ROW_B(b, k, guard)                                                    \
  _Pragma("unroll") for (int j = 0; j < NWI; j += VWB) {                      \
    const int n_ = gn + COL(ln, j), k_ = k0 + (k);                            \
    if (guard) {                                                              \
      _Pragma("unroll") for (int e = 0; e < VWB; e++) {                       \
        (b)[j + e] = (n_ + e < N && k_ < K) ? BE(k_, n_ + e) : 0.0f;          \
      }                                                                       \
    } else {                                                                  \
      VSTOREP(VWB, *(__global const VEC_T(VWB) *)(B + k_ * ldb + n_), (b) + j); \
    }                                                                         \
  }
#endif

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

// SLICE multiplies the slice at k0 (in al and bl where staged) into acc.
#define SLICE(guard)                                                          \
  for (int kk = 0; kk < KWG; kk += KWI) {                                     \
    _Pragma("unroll") for (int ki = 0; ki < KWI; ki++) {                      \
      float a[MWI], b[NWI];                                                   \
      ROW_A(a, kk + ki, guard)                                                \
      ROW_B(b, kk + ki, guard)                                                \
      _Pragma("unroll") for (int i = 0; i < MWI; i++) {                       \
        _Pragma("unroll") for (int j = 0; j < NWI; j++) {                     \
          acc[i][j] = fma(a[i], b[j], acc[i][j]);                             \
        }                                                                     \
      }                                                                       \
    }                                                                         \
  }

// MULTIPLY runs SLICE, specialised for guarded and unguarded reads where
// an operand comes from global memory in the loop.
#if SA && SB
#define MULTIPLY(guard) SLICE(false)
#elif DIRECT
#define MULTIPLY(guard) SLICE(true)
#else
#define MULTIPLY(guard)                                                       \
  if (guard) {                                                                \
    SLICE(true)                                                               \
  } else {                                                                    \
    SLICE(false)                                                              \
  }
#endif

// LOAD reads the slice at k0 into the registers ra and rb (those staged).
#if DIRECT
#define LOADG(fn, ...) fn(__VA_ARGS__, true);
#else
#define LOADG(fn, ...)                                                        \
  if (guard) {                                                                \
    fn(__VA_ARGS__, true);                                                    \
  } else {                                                                    \
    fn(__VA_ARGS__, false);                                                   \
  }
#endif
#if SA
#define LOAD_A() LOADG(globalA, A, lda, M, K, gm, k0, t, ra)
#define STORE_A(buf) localA(alm + (buf) * (KWG * MWG), ra, t);
#else
#define LOAD_A()
#define STORE_A(buf)
#endif
#if SB
#define LOAD_B() LOADG(globalB, B, ldb, N, K, gn, k0, t, rb)
#define STORE_B(buf) localB(blm + (buf) * (KWG * NWG), rb, t);
#else
#define LOAD_B()
#define STORE_B(buf)
#endif

#if DIRECT
#define KERNEL_NAME xgemm_direct
#else
#define KERNEL_NAME xgemm
#endif

__kernel __attribute__((reqd_work_group_size(NDIMC, MDIMC, 1)))
void KERNEL_NAME(const int M, const int N, const int K, const float alpha, const float beta,
                 __global const float *restrict A, const int offA, const int lda,
                 __global const float *restrict B, const int offB, const int ldb,
                 __global float *C, const int offC, const int ldc,
                 __global const float *restrict bias, const int offBias,
                 const float act_alpha, const float act_max, const float act_threshold,
                 const int act_kind) {
  const int ln = get_local_id(0);
  const int lm = get_local_id(1);
  const int t = lm * NDIMC + ln;
  const int gn = get_group_id(0) * NWG;
  const int gm = get_group_id(1) * MWG;
  A += offA;
  B += offB;
  C += offC;
  bias += offBias;
#if DIRECT
  const bool inside = false;
#else
  const bool inside = gm + MWG <= M && gn + NWG <= N;
#endif
  const int slices = (K + KWG - 1) / KWG;

#if SA
  __local VEC_T(VWM) alv[NBUF * KWG * MWG / VWM];
  __local float *alm = (__local float *)alv;
  float ra[A_SR * A_SC];
#endif
#if SB
  __local VEC_T(VWN) blv[NBUF * KWG * NWG / VWN];
  __local float *blm = (__local float *)blv;
  float rb[B_SR * B_SC];
#endif

  float acc[MWI][NWI];
#pragma unroll
  for (int i = 0; i < MWI; i++) {
#pragma unroll
    for (int j = 0; j < NWI; j++) {
      acc[i][j] = 0.0f;
    }
  }

#if NBUF == 2
  {
    const int k0 = 0;
    const bool guard = !inside || KWG > K;
    LOAD_A()
    LOAD_B()
    STORE_A(0)
    STORE_B(0)
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = 0; s < slices; s++) {
    const int cur = s & 1;
    if (s + 1 < slices) {
      const int k0 = (s + 1) * KWG;
      const bool guard = !inside || k0 + KWG > K;
      LOAD_A()
      LOAD_B()
    }
    {
      const int k0 = s * KWG;
      const bool guard = !inside || k0 + KWG > K;
#if SA
      __local const float *al = alm + cur * (KWG * MWG);
#endif
#if SB
      __local const float *bl = blm + cur * (KWG * NWG);
#endif
      MULTIPLY(guard)
    }
    if (s + 1 < slices) {
      STORE_A(cur ^ 1)
      STORE_B(cur ^ 1)
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#else
  for (int s = 0; s < slices; s++) {
    const int k0 = s * KWG;
    const bool guard = !inside || k0 + KWG > K;
#if SA || SB
    LOAD_A()
    LOAD_B()
    STORE_A(0)
    STORE_B(0)
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
#if SA
    __local const float *al = alm;
#endif
#if SB
    __local const float *bl = blm;
#endif
    MULTIPLY(guard)
#if SA || SB
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
  }
#endif

  // Epilogue: VW columns at a time (VW divides VWN, so they are adjacent).
  const act_params ap = {act_alpha, act_max, act_threshold, act_kind};
#pragma unroll
  for (int i = 0; i < MWI; i++) {
    const int row = gm + ROW(lm, i);
#pragma unroll
    for (int j = 0; j < NWI; j += VW) {
      const int col = gn + COL(ln, j);
      __global float *cp = C + row * ldc + col;
      const realV x = VLOADP(VW, &acc[i][j]);
      if (inside || (row < M && col + VW <= N)) {
#if BIAS
        const realV bv = LOADV(bias, col);
#else
        const realV bv = (realV)0.0f;
#endif
        const realV cv = beta != 0.0f ? *(__global realV *)cp : (realV)0.0f;
        *(__global realV *)cp = gemm_epilogue(x, alpha, beta, cv, bv, ap);
      } else if (row < M && col < N) {
        float cs[VW], bs[VW];
#pragma unroll
        for (int e = 0; e < VW; e++) {
          cs[e] = (beta != 0.0f && col + e < N) ? cp[e] : 0.0f;
          bs[e] = (BIAS && col + e < N) ? bias[col + e] : 0.0f;
        }
        float ys[VW];
        VSTOREP(VW, gemm_epilogue(x, alpha, beta, VLOADP(VW, cs), VLOADP(VW, bs), ap), ys);
        for (int e = 0; e < VW && col + e < N; e++) {
          cp[e] = ys[e];
        }
      }
    }
  }
}
