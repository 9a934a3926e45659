/* fmapeak.c: the machine's single-precision FMA ceiling, the yardstick of
 * the compute-bound figures in README.md. Runs one thread per core given
 * (default 1) on 12 independent chains of 8-wide FMAs, which no load or
 * store slows, and prints the GFLOPS of each thread and their sum.
 *
 *   gcc -O2 -mavx2 -mfma -pthread scripts/fmapeak.c -o /tmp/fmapeak && /tmp/fmapeak 2
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *run(void *arg) {
  double *gflops = arg;
  __m256 a[12], b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-8f);
  for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
  const long n = 40000000;
  double t = now();
  for (long i = 0; i < n; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; j++) a[j] = _mm256_fmadd_ps(a[j], b, c);
  }
  t = now() - t;
  float s = 0;
  for (int i = 0; i < 12; i++) s += a[i][0];
  *gflops = n * 12 * 16 / t / 1e9 + 0 * s;
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 64) {
    fprintf(stderr, "usage: fmapeak [threads 1..64]\n");
    return 2;
  }
  pthread_t th[64];
  double g[64], sum = 0;
  for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, run, &g[i]);
  for (int i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    printf("thread %d: %.1f GFLOPS\n", i, g[i]);
    sum += g[i];
  }
  printf("{\"peer\": \"fma-peak\", \"threads\": %d, \"gflops\": %.1f}\n", threads, sum);
  return 0;
}
