/* Native loops of rnnkit's sequence kernels (see ../native.py): TF's GRUCell and LSTMCell (peepholes, cell_clip)
 * over a whole unroll, forward and backward, in float32 and float64; and contrib's IndRNN, IndyGRU and IndyLSTM
 * cells (indy_real.h), SRU, UGRNN and IntersectionRNN cells (contrib_real.h), NASCell (nas_real.h),
 * PhasedLSTMCell (phased_real.h), GLSTMCell (glstm_real.h), CoupledInputForgetGateLSTMCell (cifg_real.h),
 * the layer-normalised LSTMs, LayerNormBasicLSTMCell and contrib's LayerNormLSTMCell (layer_norm_real.h), and the
 * pointwise steps of the convolutional LSTMs (conv_lstm_real.h); and the fused LSTM's weight re-layout
 * (layout_real.h).
 *
 * Why native: per step, a Python loop pays about 5-9 us of dispatch for each of the 10-20 elementwise ops, which
 * is as much as the step's pointwise arithmetic; here each step is two BLAS products and one pass over the gates.
 * The products go to the BLAS that torch itself uses (its exported ?gemm_, handed over by set_blas), so the matrix
 * arithmetic is torch's; only the pointwise formulas are written here, in the cells' order of operations.
 *
 * All arrays are row-major and contiguous; `lens` is NULL or int64 [B] (TF's sequence_length rule: at step t a
 * row with t >= lens[b] does no step, keeps its state, and passes its state gradient straight through).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp for float32: 2^n * p(r), Cephes' degree-6 polynomial on r in [-ln2/2, ln2/2] (about 1 ulp). Written out
 * so that the compiler vectorises the loops that call it (libm's expf is a call it cannot). The clamps pass NaN
 * through (both comparisons are false), and saturate where expf over/underflows. */
static inline float exp_f32(float x) {
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    x = x < -87.3365447504f ? -87.3365447504f : x;
    float n = __builtin_roundf(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}
static inline float sigmoid_f32(float x) { return 1.0f / (1.0f + exp_f32(-x)); }
/* tanh(x) = 2 sigmoid(2x) - 1, as kernels/_pointwise.py (differs from tanh by at most an ulp of 1.0). */
static inline float tanh_f32(float x) { return 2.0f / (1.0f + exp_f32(-2.0f * x)) - 1.0f; }
static inline double sigmoid_f64(double x) { return 1.0 / (1.0 + exp(-x)); }
static inline double tanh_f64(double x) { return tanh(x); }

/* torch's OpenMP runtime, for the fused LSTM's weight re-layout (layout_real.h): GOMP_parallel (what `#pragma omp
 * parallel` compiles to) and omp_get_thread_num / omp_get_num_threads, found in the process by the loader
 * (set_omp). Running in torch's own thread pool keeps to the threads torch.set_num_threads allows, and finds them
 * awake after a kernel; NULL (no such runtime): the re-layout runs on the calling thread. */
typedef void (*omp_parallel_fn)(void (*)(void *), void *, unsigned, unsigned);
typedef int (*omp_int_fn)(void);
static omp_parallel_fn omp_parallel = 0;
static omp_int_fn omp_thread_num = 0, omp_num_threads = 0;

/* The per-type headers name everything NAME(x) = x_<SUF> and call SIG / TANH of their type. */
#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define NAME(n) CAT(n, SUF)
#define SIG CAT(sigmoid, SUF)
#define TANH CAT(tanh, SUF)

#define REAL float
#define SUF f32
#include "sequences_real.h"
#include "indy_real.h"
#include "contrib_real.h"
#include "nas_real.h"
#include "phased_real.h"
#include "glstm_real.h"
#include "cifg_real.h"
#include "layer_norm_real.h"
#include "conv_lstm_real.h"
#include "layout_real.h"
#undef REAL
#undef SUF

#define REAL double
#define SUF f64
#include "sequences_real.h"
#include "indy_real.h"
#include "contrib_real.h"
#include "nas_real.h"
#include "phased_real.h"
#include "glstm_real.h"
#include "cifg_real.h"
#include "layer_norm_real.h"
#include "conv_lstm_real.h"
#include "layout_real.h"
#undef REAL
#undef SUF

#undef SIG
#undef TANH
#undef NAME
#undef CAT
#undef CAT2

/* The BLAS products: torch's own sgemm_ / dgemm_ (Fortran interface, 32-bit ints), set once after loading. */
void rnnkit_set_blas(void* sgemm, void* dgemm) {
    gemm_f32 = (gemm_fn_f32)sgemm;
    gemm_f64 = (gemm_fn_f64)dgemm;
}

/* torch's OpenMP entry points (all three, or NULL for none), set once after loading. */
void rnnkit_set_omp(void* parallel, void* thread_num, void* num_threads) {
    int all = parallel && thread_num && num_threads;
    omp_parallel = all ? (omp_parallel_fn)parallel : 0;
    omp_thread_num = all ? (omp_int_fn)thread_num : 0;
    omp_num_threads = all ? (omp_int_fn)num_threads : 0;
}

/* A fixed number the loader checks, so a stale or foreign library is never used. */
int rnnkit_native_abi(void) { return 22; }
