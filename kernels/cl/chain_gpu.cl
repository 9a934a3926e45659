// chain_gpu.cl: a chain of Dense layers in one launch, the GPU form: a
// fully fused MLP. Every layer's output stays in local memory; only X,
// the weights and Y are in global memory:
//
//   H0 = X, Hi = act_i(H(i-1)·Wi + bi), Y = HD   (or softmax of the last)
//
// X is M×K, Wi (width of H(i-1))×(width of Hi), Y M×(width of HD), all
// row-major and packed.
//
// A work-group owns RB rows (group g: rows g·RB ..) and walks every layer
// for them. In a layer, work-item t takes the output columns t, t+WG, ...
// (WG the work-group size, chosen at launch): for each input k it loads
// Wi[k][j] once (consecutive work-items, consecutive addresses: one
// coalesced load per warp) and adds it, times the RB rows' input k (the
// same address for the whole warp: a broadcast from local memory), into
// RB accumulators in registers. Layer 0 reads its inputs from X (rows past
// M repeat the last, never stored); later layers from local memory. Each
// layer writes its RB×Wi outputs to local memory, then a barrier: Hi lives
// in hb for odd i and in ha for even i, so a layer never writes the buffer
// it reads, and the one barrier after it both publishes its outputs and
// frees its input buffer for the next layer to write. At the end each row
// gets its softmax (a work-item per row), a barrier, and the group writes
// its block of Y, consecutive work-items on consecutive addresses.
//
// Local memory: RB·(HA + HB) floats (kernels.ChainGPUParams.LocalBytes).
//
// Parameters (-D): RB, HA and HB (floats per row of the two buffers).
// The chain is run-time data, as in chain.cl: depth, softmax, and desc
// (kernels.Chain.Descriptor), layer i's weights and bias in Wt<i>, Bs<i>.
// Needs VW == 1.

#ifndef RB
#define RB 1
#endif
#ifndef HA
#define HA 64
#endif
#ifndef HB
#define HB 64
#endif

#if VW != 1
#error "chain_gpu.cl needs VW == 1"
#endif

// dense_first computes layer 0 for the group's rows from X into out
// (RB×N), then waits for the whole group.
static inline void dense_first(__global const float *X, const int r0, const int M,
                               const int K, __local float *out, const int N,
                               __global const float *W, __global const float *B,
                               const int bias, const int kind, const float alpha,
                               const float max_value, const float threshold) {
  const int lid = get_local_id(0);
  const int wg = get_local_size(0);
  __global const float *x[RB];
#pragma unroll
  for (int r = 0; r < RB; r++) {
    x[r] = X + (size_t)min(r0 + r, M - 1) * K;
  }
  for (int j = lid; j < N; j += wg) {
    const float b = bias ? B[j] : 0.0f;
    float acc[RB];
#pragma unroll
    for (int r = 0; r < RB; r++) {
      acc[r] = b;
    }
    __global const float *w = W + j;
    for (int k = 0; k < K; k++, w += N) {
      const float wk = *w;
#pragma unroll
      for (int r = 0; r < RB; r++) {
        acc[r] = fma(x[r][k], wk, acc[r]);
      }
    }
#pragma unroll
    for (int r = 0; r < RB; r++) {
      out[r * N + j] = activate_kind(acc[r], kind, alpha, max_value, threshold);
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);
}

// dense_next computes a later layer from in (RB×K, local) into out
// (RB×N, local), then waits for the whole group.
static inline void dense_next(__local const float *in, const int K, __local float *out,
                              const int N, __global const float *W,
                              __global const float *B, const int bias, const int kind,
                              const float alpha, const float max_value, const float threshold) {
  const int lid = get_local_id(0);
  const int wg = get_local_size(0);
  for (int j = lid; j < N; j += wg) {
    const float b = bias ? B[j] : 0.0f;
    float acc[RB];
#pragma unroll
    for (int r = 0; r < RB; r++) {
      acc[r] = b;
    }
    __global const float *w = W + j;
    for (int k = 0; k < K; k++, w += N) {
      const float wk = *w;
#pragma unroll
      for (int r = 0; r < RB; r++) {
        acc[r] = fma(in[r * K + k], wk, acc[r]);
      }
    }
#pragma unroll
    for (int r = 0; r < RB; r++) {
      out[r * N + j] = activate_kind(acc[r], kind, alpha, max_value, threshold);
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);
}

// LAYER_ARGS(i) declares W and B, layer i's weights and bias among the
// kernel's arguments.
#define LAYER_ARGS(i)                                                     \
  __global const float *restrict W, *restrict B;                          \
  switch (i) {                                                            \
  case 0: W = Wt0; B = Bs0; break;                                        \
  case 1: W = Wt1; B = Bs1; break;                                        \
  case 2: W = Wt2; B = Bs2; break;                                        \
  case 3: W = Wt3; B = Bs3; break;                                        \
  case 4: W = Wt4; B = Bs4; break;                                        \
  case 5: W = Wt5; B = Bs5; break;                                        \
  case 6: W = Wt6; B = Bs6; break;                                        \
  default: W = Wt7; B = Bs7; break;                                       \
  }

__kernel void chain_gpu(const int M, const int depth, const int softmax,
                        __global const float *restrict X, __global float *restrict Y,
                        __global const int *restrict desc,
                        __global const float *restrict Wt0, __global const float *restrict Bs0,
                        __global const float *restrict Wt1, __global const float *restrict Bs1,
                        __global const float *restrict Wt2, __global const float *restrict Bs2,
                        __global const float *restrict Wt3, __global const float *restrict Bs3,
                        __global const float *restrict Wt4, __global const float *restrict Bs4,
                        __global const float *restrict Wt5, __global const float *restrict Bs5,
                        __global const float *restrict Wt6, __global const float *restrict Bs6,
                        __global const float *restrict Wt7, __global const float *restrict Bs7) {
  __local float ha[RB * HA];
  __local float hb[RB * HB];
  const int r0 = get_group_id(0) * RB;
  const int lid = get_local_id(0);
  const int wg = get_local_size(0);

  // Layer i writes hb for even i and ha for odd i; layer 0 reads X.
  int n = desc[1];
  {
    LAYER_ARGS(0)
    dense_first(X, r0, M, desc[0], hb, n, W, B, desc[2], desc[3], as_float(desc[4]),
                as_float(desc[5]), as_float(desc[6]));
  }
  for (int i = 1; i < depth; i++) {
    __global const int *d = desc + 8 * i;
    n = d[1];
    LAYER_ARGS(i)
    __local float *in = (i & 1) ? hb : ha;
    __local float *out = (i & 1) ? ha : hb;
    dense_next(in, d[0], out, n, W, B, d[2], d[3], as_float(d[4]), as_float(d[5]), as_float(d[6]));
  }
  __local float *hout = (depth & 1) ? hb : ha;

  const int rows = min(RB, M - r0);
  if (softmax) {
    // A row per work-item.
    for (int r = lid; r < rows; r += wg) {
      __local float *h = hout + r * n;
      SOFTMAX_ROW_IN_PLACE(h, n, softmax);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  __global float *y = Y + (size_t)r0 * n;
  for (int e = lid; e < rows * n; e += wg) {
    y[e] = hout[e];
  }
}
