// pack.cl: packs op(B) (K×N, row-major, possibly stored transposed) into
// the panels that gemm.cl reads with PACKED_B == 1:
//
//   panel p = columns p·NWI .. p·NWI+NWI-1 of op(B), stored as K rows of
//   NWI floats, panels one after another; columns past N hold zeros.
//
//        op(B)                        packed
//   ┌────┬────┬──┐          ┌────┐┌────┐┌──┬─┐
//   │ p0 │ p1 │p2│  K  →    │ p0 ││ p1 ││p2│0│  each K×NWI, contiguous
//   └────┴────┴──┘          └────┘└────┘└──┴─┘
//
// One work-item packs kchunk rows (an argument) of one panel: global
// (panels, ⌈K/kchunk⌉). Few, large work-items: on a CPU each work-group
// costs microseconds to start.
//
// Parameters: NWI (panel width), TRANS_B (1 when B is stored N×K).

#ifndef NWI
#define NWI 16
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void pack_b(const int K, const int N, __global const float *restrict B, const int offB,
            const int ldb, __global float *restrict P, const int kchunk) {
  const int p = get_global_id(0);
  const int k0 = get_global_id(1) * kchunk;
  const int k1 = min(k0 + kchunk, K);
  const int n0 = p * NWI;
  B += offB;
  __global float *out = P + (long)p * K * NWI;
#if TRANS_B
  for (int j = 0; j < NWI; j++) {
    const int col = n0 + j;
    for (int k = k0; k < k1; k++) {
      out[k * NWI + j] = col < N ? B[(long)col * ldb + k] : 0.0f;
    }
  }
#else
  if (n0 + NWI <= N) {
    for (int k = k0; k < k1; k++) {
#pragma unroll
      for (int j = 0; j < NWI; j++) {
        out[k * NWI + j] = B[(long)k * ldb + n0 + j];
      }
    }
  } else {
    for (int k = k0; k < k1; k++) {
      for (int j = 0; j < NWI; j++) {
        out[k * NWI + j] = n0 + j < N ? B[(long)k * ldb + n0 + j] : 0.0f;
      }
    }
  }
#endif
}
