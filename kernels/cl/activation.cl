// activation.cl: an activation (common.cl's ACT, or act_kind when ACT is
// -1) applied elementwise to n floats, VW at a time, the tail one by one.

__kernel void activation(const int n, __global const float *src, const int offSrc,
                         __global float *dst, const int offDst,
                         const float act_alpha, const float act_max, const float act_threshold,
                         const int act_kind) {
  const act_params ap = {act_alpha, act_max, act_threshold, act_kind};
  const int i = get_global_id(0) * VW;
  if (i >= n) {
    return;
  }
  src += offSrc;
  dst += offDst;
  if (i + VW <= n) {
    STOREV(activate(LOADV(src, i), ap), dst, i);
    return;
  }
  for (int j = i; j < n; j++) {
#if VW == 1
    dst[j] = activate(src[j], ap);
#else
    dst[j] = activate((realV)src[j], ap).s0;
#endif
  }
}
