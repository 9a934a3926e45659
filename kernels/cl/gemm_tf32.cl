// gemm_tf32.cl: C = act(alpha·op(A)·op(B) + bias + beta·C), row-major
// float32 in memory, the product on NVIDIA tensor cores in TF32: each
// operand rounded to TF32 (cvt.rna.tf32.f32: 10 explicit mantissa bits,
// round to nearest, ties away from zero), products accumulated in float32
// by mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32. Needs compute
// capability 8.0 or higher (PTX ISA 7.0+) and a compiler that takes inline
// PTX in OpenCL C (NVIDIA's does); common.cl comes first (activations).
//
// Tiling. A work-group of WARPS_M×WARPS_N warps (32 work-items each, a 1-D
// work-group: work-items 32w..32w+31 are warp w) owns an MWG×NWG tile of C;
// warp (wm, wn) owns a WM×WN tile of it, TM×TN mma tiles of 16×8. K is
// walked in slices of KWG (a multiple of 8, the mma's depth), each staged in
// local memory, STAGES slices in flight: while the warps multiply slice kt,
// slices up to kt+STAGES-1 are being copied in (cp.async where the layout
// allows it, ASYNC_A / ASYNC_B). One barrier per slice.
//
//        N →                       As[s]: MWG rows × KWG (+4 pad), k contiguous
//   M  ┌──────┬──────┐             Bs[s]: KWG rows × NWG (+pad),   n contiguous
//   ↓  │ warp │ warp │ ← MWG×NWG
//      │ 0,0  │ 0,1  │   group     pads: a fragment load by the 32 lanes of a warp
//      ├──────┼──────┤   tile      hits 32 different banks (row strides ≡ 4·odd
//      │ 1,0  │ 1,1  │             words for As, ≡ 8 or 24 mod 32 for Bs)
//      └──────┴──────┘
//
// Fragments (NVIDIA's PTX ISA, "Matrix Fragments for mma.m16n8k8", anchor
// #warp-level-matrix-fragment-mma-1688: section 9.7.14.5.7 in ISA 8.x, the
// number shifts between versions; Figures 72, 75 and 77 for .tf32 A and B
// and .f32 C): with g = laneid >> 2 (groupID) and t = laneid % 4
// (threadID_in_group),
//   A (16×8, row): a0 = A[g][t], a1 = A[g+8][t], a2 = A[g][t+4], a3 = A[g+8][t+4]
//   B (8×8, col):  b0 = B[t][g], b1 = B[t+4][g]          (B[k][n])
//   C (16×8):      c0 = C[g][2t], c1 = C[g][2t+1], c2 = C[g+8][2t], c3 = C[g+8][2t+1]
//
// Edges: any M, N, K >= 1. Staging writes zeros past the edges of A and B,
// so every warp runs every mma (mma.sync needs all 32 lanes) and only the
// stores are guarded.
//
// TF32_EMULATE == 1 builds the same kernel with no PTX, for checking the
// tiling, staging and fragment index math on any OpenCL device (PoCL): each
// mma becomes mma_emulated (the warp's lanes scatter their A and B fragments
// into local memory by the layouts above, then each lane computes its own C
// elements from them), the TF32 rounding is done in software, and cp.async
// is a plain copy with the same zero fill. It checks the index math against
// the layouts as written here; it cannot check the layouts against the
// hardware, nor the asynchronous copies' ordering (they are synchronous
// there), nor the PTX itself.
//
// Parameters (set with -D; defaults make the file usable on its own):
//   WARPS_M, WARPS_N  warps per work-group along M and N (work-group size
//                     32·WARPS_M·WARPS_N)
//   TM, TN            mma tiles per warp along M and N (warp tile 16·TM × 8·TN;
//                     each work-item keeps 4·TM·TN accumulators)
//   KWG               depth of a K slice in local memory, a multiple of 8
//   STAGES            K slices in local memory at once, 2 to 4
//   TRANS_A, TRANS_B  1 when A (or B) is stored transposed
//   ASYNC_A, ASYNC_B  1 to stage A (B) with 16-byte cp.async copies: only for
//                     an untransposed operand whose offset and leading
//                     dimension are multiples of 4 floats
//   BIAS              1 to add the bias vector
//   ACT               the activation (common.cl), -1 for the kind read at run time
//   TF32_EMULATE      1 for the PTX-free emulation described above
//   TF32_PROBE        1 to build only the probe kernel tf32_probe

#ifndef WARPS_M
#define WARPS_M 2
#endif
#ifndef WARPS_N
#define WARPS_N 2
#endif
#ifndef TM
#define TM 4
#endif
#ifndef TN
#define TN 8
#endif
#ifndef KWG
#define KWG 16
#endif
#ifndef STAGES
#define STAGES 2
#endif
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif
#ifndef ASYNC_A
#define ASYNC_A 0
#endif
#ifndef ASYNC_B
#define ASYNC_B 0
#endif
#ifndef BIAS
#define BIAS 0
#endif
#ifndef TF32_EMULATE
#define TF32_EMULATE 0
#endif
#ifndef TF32_PROBE
#define TF32_PROBE 0
#endif

#define WARP 32
#define WG (WARP * WARPS_M * WARPS_N)
#define WM (16 * TM)
#define WN (8 * TN)
#define MWG (WARPS_M * WM)
#define NWG (WARPS_N * WN)
// Row strides of the staged tiles, in floats (see the picture above).
#define SA (KWG + 4)
#define SB (NWG + ((NWG % 16 == 0) ? 8 : 0))

#if KWG % 8 != 0
#error "KWG must be a multiple of 8"
#endif
#if STAGES < 2 || STAGES > 4
#error "STAGES must be 2, 3 or 4"
#endif
#if (ASYNC_A && TRANS_A) || (ASYNC_B && TRANS_B)
#error "ASYNC_A (ASYNC_B) needs an untransposed A (B)"
#endif

// cp.async.wait_group's operand: the groups that may still be in flight
// when slice kt is needed (one group is committed per slice).
#if STAGES == 2
#define CP_PENDING "0"
#elif STAGES == 3
#define CP_PENDING "1"
#else
#define CP_PENDING "2"
#endif

// UNROLL unrolls the loops over mma tiles, whose accumulators must live in
// registers; the emulation keeps them rolled (each emulated mma holds two
// barriers, and unrolled ones make a CPU compiler's work huge).
#if TF32_EMULATE
#define UNROLL _Pragma("unroll 1")
#else
#define UNROLL _Pragma("unroll")
#endif

#if TF32_EMULATE

// to_tf32 rounds x to TF32 as cvt.rna.tf32.f32 does: to nearest on the low
// 13 mantissa bits, ties away from zero (adding half of the dropped unit to
// the magnitude), Inf and NaN kept. The result is the float's bits.
static inline uint to_tf32(float x) {
  uint u = as_uint(x);
  if ((u & 0x7f800000u) != 0x7f800000u) {
    u = (u + 0x1000u) & 0xffffe000u;
  }
  return u;
}

// cp_async16 copies bytes (0, 4, 8, 12 or 16) from src to dst and zeros the
// rest of the 16, as cp.async with a source size does, but at once.
static inline void cp_async16(__local float *dst, __global const float *src, int bytes) {
  for (int i = 0; i < 4; i++) {
    dst[i] = 4 * i < bytes ? src[i] : 0.0f;
  }
}
#define CP_COMMIT()
#define CP_WAIT()

// mma_emulated is D = A·B + C for one m16n8k8 tile, the warp's fragments
// exchanged through frag (16×8 A, then 8×8 B, both row-major), in the
// layouts of the PTX ISA figures cited at the top, written out literally.
// TF32 products are exact in float; the sum is an fma chain in k order
// (the tensor core's order and internal rounding are not specified, so
// results may differ from the hardware's in the last bits). Every
// work-item of the work-group must call it (it holds barriers).
static inline void mma_emulated(float *c, const uint *a, const uint *b, __local float *frag, int lane) {
  __local float *fa = frag;
  __local float *fb = frag + 16 * 8;
  const int groupID = lane >> 2;
  const int threadID_in_group = lane % 4;
  // Figure 72: row = groupID for a0, a2; groupID + 8 for a1, a3.
  //            col = threadID_in_group for a0, a1; + 4 for a2, a3.
  fa[groupID * 8 + threadID_in_group] = as_float(a[0]);
  fa[(groupID + 8) * 8 + threadID_in_group] = as_float(a[1]);
  fa[groupID * 8 + threadID_in_group + 4] = as_float(a[2]);
  fa[(groupID + 8) * 8 + threadID_in_group + 4] = as_float(a[3]);
  // Figure 75: row = threadID_in_group for b0, + 4 for b1; col = groupID.
  fb[threadID_in_group * 8 + groupID] = as_float(b[0]);
  fb[(threadID_in_group + 4) * 8 + groupID] = as_float(b[1]);
  barrier(CLK_LOCAL_MEM_FENCE);
  // Figure 77: row = groupID for c0, c1; groupID + 8 for c2, c3.
  //            col = threadID_in_group * 2 + (i & 1).
  for (int i = 0; i < 4; i++) {
    const int row = i < 2 ? groupID : groupID + 8;
    const int col = threadID_in_group * 2 + (i & 1);
    float s = c[i];
    for (int k = 0; k < 8; k++) {
      s = fma(fa[row * 8 + k], fb[k * 8 + col], s);
    }
    c[i] = s;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
}
#define MMA(c, a, b) mma_emulated((c), (a), (b), frag, lane)

#else // PTX

static inline uint to_tf32(float x) {
  uint r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}

// cp_async16 starts a 16-byte copy from global to local memory that reads
// bytes (0..16) of src and zero-fills the rest (cp.async.cg: through L2
// only). dst must be 16-byte aligned, and src too: the local address is the
// __local pointer's value, a .shared address.
static inline void cp_async16(__local float *dst, __global const float *src, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;"
               :
               : "r"((uint)(ulong)dst), "l"((ulong)src), "r"(bytes)
               : "memory");
}
#define CP_COMMIT() asm volatile("cp.async.commit_group;" ::: "memory")
#define CP_WAIT() asm volatile("cp.async.wait_group " CP_PENDING ";" ::: "memory")

// MMA is c += a·b for one m16n8k8 tile: c float[4], a uint[4], b uint[2]
// (TF32 bits), in the fragment layouts above.
#define MMA(c, a, b)                                                           \
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "          \
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};" \
               : "+f"((c)[0]), "+f"((c)[1]), "+f"((c)[2]), "+f"((c)[3])        \
               : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]),           \
                 "r"((b)[0]), "r"((b)[1]))

#endif // TF32_EMULATE

#if TF32_PROBE

// tf32_probe multiplies a 16×8 A by an 8×8 B (row-major, B[k][n]) into D
// with one mma, A staged through local memory by cp.async: the device
// builds and runs every PTX instruction the GEMM uses. One warp.
__kernel __attribute__((reqd_work_group_size(WARP, 1, 1)))
void tf32_probe(__global const float *a, __global const float *b, __global float *d) {
  __local float as[16 * 8] __attribute__((aligned(16)));
#if TF32_EMULATE
  __local float frag[16 * 8 + 8 * 8];
#endif
  const int lane = get_local_id(0);
  cp_async16(as + lane * 4, a + lane * 4, 16);
  CP_COMMIT();
  CP_WAIT();
  barrier(CLK_LOCAL_MEM_FENCE);
  const int g = lane >> 2, t = lane & 3;
  uint af[4], bf[2];
  af[0] = to_tf32(as[g * 8 + t]);
  af[1] = to_tf32(as[(g + 8) * 8 + t]);
  af[2] = to_tf32(as[g * 8 + t + 4]);
  af[3] = to_tf32(as[(g + 8) * 8 + t + 4]);
  bf[0] = to_tf32(b[t * 8 + g]);
  bf[1] = to_tf32(b[(t + 4) * 8 + g]);
  float c[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  MMA(c, af, bf);
  d[g * 8 + 2 * t] = c[0];
  d[g * 8 + 2 * t + 1] = c[1];
  d[(g + 8) * 8 + 2 * t] = c[2];
  d[(g + 8) * 8 + 2 * t + 1] = c[3];
}

#else // the GEMM

// stage_a copies op(A)[gm .. gm+MWG-1, k0 .. k0+KWG-1] into as (MWG rows of
// stride SA), zeros past M and K.
static inline void stage_a(__local float *as, __global const float *A, const int lda, const int M,
                           const int K, const int gm, const int k0, const int tid) {
#if ASYNC_A
  // 16-byte chunks along K; a chunk that crosses K copies what is left.
  for (int c = tid; c < MWG * (KWG / 4); c += WG) {
    const int r = c / (KWG / 4), q = (c % (KWG / 4)) * 4;
    const int gr = gm + r, gk = k0 + q;
    const int n = gr < M ? clamp(K - gk, 0, 4) : 0;
    cp_async16(as + r * SA + q, n > 0 ? A + gr * lda + gk : A, 4 * n);
  }
#else
  for (int e = tid; e < MWG * KWG; e += WG) {
#if TRANS_A
    // A is stored K×M: neighbouring work-items read neighbouring rows of op(A).
    const int r = e % MWG, k = e / MWG;
    const float v = (gm + r < M && k0 + k < K) ? A[(k0 + k) * lda + gm + r] : 0.0f;
#else
    const int r = e / KWG, k = e % KWG;
    const float v = (gm + r < M && k0 + k < K) ? A[(gm + r) * lda + k0 + k] : 0.0f;
#endif
    as[r * SA + k] = v;
  }
#endif
}

// stage_b copies op(B)[k0 .. k0+KWG-1, gn .. gn+NWG-1] into bs (KWG rows of
// stride SB), zeros past K and N.
static inline void stage_b(__local float *bs, __global const float *B, const int ldb, const int N,
                           const int K, const int gn, const int k0, const int tid) {
#if ASYNC_B
  // 16-byte chunks along N; a chunk that crosses N copies what is left.
  for (int c = tid; c < KWG * (NWG / 4); c += WG) {
    const int k = c / (NWG / 4), q = (c % (NWG / 4)) * 4;
    const int gk = k0 + k, gj = gn + q;
    const int n = gk < K ? clamp(N - gj, 0, 4) : 0;
    cp_async16(bs + k * SB + q, n > 0 ? B + gk * ldb + gj : B, 4 * n);
  }
#else
  for (int e = tid; e < KWG * NWG; e += WG) {
#if TRANS_B
    // B is stored N×K: neighbouring work-items read along K.
    const int k = e % KWG, j = e / KWG;
    const float v = (k0 + k < K && gn + j < N) ? B[(gn + j) * ldb + k0 + k] : 0.0f;
#else
    const int k = e / NWG, j = e % NWG;
    const float v = (k0 + k < K && gn + j < N) ? B[(k0 + k) * ldb + gn + j] : 0.0f;
#endif
    bs[k * SB + j] = v;
  }
#endif
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void gemm_tf32(const int M, const int N, const int K, const float alpha, const float beta,
               __global const float *restrict A, const int offA, const int lda,
               __global const float *restrict B, const int offB, const int ldb,
               __global float *C, const int offC, const int ldc,
               __global const float *restrict bias, const int offBias,
               const float act_alpha, const float act_max, const float act_threshold, const int act_kind) {
  __local float As[STAGES][MWG * SA] __attribute__((aligned(16)));
  __local float Bs[STAGES][KWG * SB] __attribute__((aligned(16)));
  const int tid = get_local_id(0);
  const int lane = tid % WARP;
  const int warp = tid / WARP;
#if TF32_EMULATE
  __local float frags[WARPS_M * WARPS_N][16 * 8 + 8 * 8];
  __local float *frag = frags[warp];
#endif
  const int wm = warp / WARPS_N, wn = warp % WARPS_N;
  const int g = lane >> 2, t = lane & 3;
  const int gm = get_group_id(1) * MWG;
  const int gn = get_group_id(0) * NWG;
  A += offA;
  B += offB;
  C += offC;
  bias += offBias;
  const act_params ap = {act_alpha, act_max, act_threshold, act_kind};

  float acc[TM][TN][4];
UNROLL
  for (int i = 0; i < TM; i++) {
UNROLL
    for (int j = 0; j < TN; j++) {
UNROLL
      for (int e = 0; e < 4; e++) {
        acc[i][j][e] = 0.0f;
      }
    }
  }

  const int nk = (K + KWG - 1) / KWG;
  // Prologue: slices 0 .. STAGES-2 in flight, one commit group each (empty
  // groups too, so that the count that CP_WAIT leaves pending holds).
  for (int s = 0; s < STAGES - 1; s++) {
    if (s < nk) {
      stage_a(As[s], A, lda, M, K, gm, s * KWG, tid);
      stage_b(Bs[s], B, ldb, N, K, gn, s * KWG, tid);
    }
    CP_COMMIT();
  }
  for (int kt = 0; kt < nk; kt++) {
    // Slice kt has landed (this work-item's copies; the barrier extends it
    // to the work-group's), and every warp is done with slice kt-1, whose
    // buffer the next copy reuses.
    CP_WAIT();
    barrier(CLK_LOCAL_MEM_FENCE);
    const int next = kt + STAGES - 1;
    if (next < nk) {
      stage_a(As[next % STAGES], A, lda, M, K, gm, next * KWG, tid);
      stage_b(Bs[next % STAGES], B, ldb, N, K, gn, next * KWG, tid);
    }
    CP_COMMIT();

    __local const float *as = As[kt % STAGES] + (wm * WM + g) * SA + t;
    __local const float *bs = Bs[kt % STAGES] + t * SB + wn * WN + g;
UNROLL
    for (int kk = 0; kk < KWG; kk += 8) {
      uint af[TM][4], bf[TN][2];
UNROLL
      for (int i = 0; i < TM; i++) {
        __local const float *p = as + i * 16 * SA + kk;
        af[i][0] = to_tf32(p[0]);
        af[i][1] = to_tf32(p[8 * SA]);
        af[i][2] = to_tf32(p[4]);
        af[i][3] = to_tf32(p[8 * SA + 4]);
      }
UNROLL
      for (int j = 0; j < TN; j++) {
        __local const float *p = bs + kk * SB + j * 8;
        bf[j][0] = to_tf32(p[0]);
        bf[j][1] = to_tf32(p[4 * SB]);
      }
UNROLL
      for (int i = 0; i < TM; i++) {
UNROLL
        for (int j = 0; j < TN; j++) {
          MMA(acc[i][j], af[i], bf[j]);
        }
      }
    }
  }

  // Epilogue: c0, c1 of tile (i, j) at row g, columns 2t and 2t+1; c2, c3
  // eight rows below.
UNROLL
  for (int i = 0; i < TM; i++) {
UNROLL
    for (int h = 0; h < 2; h++) {
      const int row = gm + wm * WM + i * 16 + g + 8 * h;
      if (row >= M) {
        continue;
      }
UNROLL
      for (int j = 0; j < TN; j++) {
UNROLL
        for (int e = 0; e < 2; e++) {
          const int col = gn + wn * WN + j * 8 + 2 * t + e;
          if (col < N) {
            __global float *cp = C + row * ldc + col;
            float v = alpha * acc[i][j][2 * h + e];
#if BIAS
            v += bias[col];
#endif
            if (beta != 0.0f) {
              v += beta * cp[0];
            }
            cp[0] = activate(v, ap);
          }
        }
      }
    }
  }
}

#endif // TF32_PROBE
