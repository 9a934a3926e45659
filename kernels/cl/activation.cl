// activation.cl: an activation (common.cl's ACT) applied elementwise to n
// floats, VW at a time, the tail one by one.

__kernel void activation(const int n, __global const float *src, const int offSrc,
                         __global float *dst, const int offDst,
                         const float act_alpha, const float act_max, const float act_threshold) {
  const int i = get_global_id(0) * VW;
  if (i >= n) {
    return;
  }
  src += offSrc;
  dst += offDst;
  if (i + VW <= n) {
    STOREV(activate(LOADV(src, i), act_alpha, act_max, act_threshold), dst, i);
    return;
  }
  for (int j = i; j < n; j++) {
#if VW == 1
    dst[j] = activate(src[j], act_alpha, act_max, act_threshold);
#else
    dst[j] = activate((realV)src[j], act_alpha, act_max, act_threshold).s0;
#endif
  }
}
