"""How to write K models' dense layer for training under XLA on a CPU (docs/performance.md, "The
MNIST-MLP cell"): b = 10 SGD steps of B = 10 for K models in one compiled while loop, variants
alternated in one process, 3 trials, median examples/s and the ratio to the einsum.

    uv run python benchmarks/dense_gradient.py 1 784,512,512,10    # a learner block of the MNIST MLP
    uv run python benchmarks/dense_gradient.py 50 18,32,64,2       # a thread group of SUSY learners
"""
import os, sys, time
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf

K, B, b = int(sys.argv[1]), 10, 10
dims = [int(v) for v in sys.argv[2].split(",")]
rng = np.random.default_rng(0)
W = [tf.constant(rng.normal(0, 0.05, (K, i, o)).astype(np.float32)) for i, o in zip(dims[:-1], dims[1:])]
bias = [tf.zeros((K, o)) for o in dims[1:]]
X = tf.constant(rng.normal(size=(b, K, B, dims[0])).astype(np.float32))
Y = tf.constant(rng.integers(0, dims[-1], (b, K, B)).astype(np.int32))

def dense_plain(h, w):
    return tf.einsum("kbi,kio->kbo", h, w)

@tf.custom_gradient
def dense_outer(h, w):
    def grad(dy):
        dh = tf.einsum("kbo,kio->kbi", dy, w)
        dw = tf.reduce_sum(h[:, :, :, None] * dy[:, :, None, :], axis=1)
        return dh, dw
    return tf.einsum("kbi,kio->kbo", h, w), grad

@tf.custom_gradient
def dense_mm(h, w):
    def grad(dy):
        return tf.einsum("kbo,kio->kbi", dy, w), tf.matmul(h, dy, transpose_a=True)
    return tf.einsum("kbi,kio->kbo", h, w), grad

def make(dense):
    def loss(params, x, y):
        h = x
        n = len(dims) - 1
        for j in range(n):
            h = dense(h, params[j]) + params[n + j][:, None, :]
            if j < n - 1:
                h = tf.nn.relu(h)
        return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y, h))
    @tf.function(jit_compile=True)
    def rounds(params, reps):
        def one_round(r, params):
            def step(s, params):
                with tf.GradientTape() as tape:
                    tape.watch(params)
                    l = loss(params, X[s], Y[s])
                g = tape.gradient(l, params)
                return s + 1, [w - 0.01 * gw for w, gw in zip(params, g)]
            _, params = tf.while_loop(lambda s, *_: s < b, step, (0, params))
            return r + 1, params
        _, params = tf.while_loop(lambda r, *_: r < reps, one_round, (tf.constant(0), params))
        return params
    return rounds

def dense_matmul(h, w):
    return tf.matmul(h, w)

@tf.custom_gradient
def dense_allmm(h, w):
    def grad(dy):
        return tf.matmul(dy, w, transpose_b=True), tf.matmul(h, dy, transpose_a=True)
    return tf.matmul(h, w), grad

variants = {"plain matmul+tape": make(dense_matmul), "all matmul custom": make(dense_allmm), "einsum+tape": make(dense_plain), "outer custom": make(dense_outer), "matmul custom": make(dense_mm)}
P = W + bias
res = {}
for name, f in variants.items():
    t = time.perf_counter(); out = f(P, tf.constant(1)); [o.numpy() for o in out]; print(name, "compile+1", round(time.perf_counter() - t, 2))
ref = [o.numpy() for o in variants["einsum+tape"](P, tf.constant(3))]
for name, f in variants.items():
    got = [o.numpy() for o in f(P, tf.constant(3))]
    print(name, "max rel diff vs einsum", max(float(np.max(np.abs(a - c)) / (np.max(np.abs(a)) + 1e-12)) for a, c in zip(ref, got)))
flop = 2 * 3 * B * sum(i * o for i, o in zip(dims[:-1], dims[1:]))  # per step, fwd + 2 backward GEMMs
for trial in range(3):
    for name, f in variants.items():
        reps = 40
        t = time.perf_counter(); out = f(P, tf.constant(reps)); out[0].numpy(); dt = time.perf_counter() - t
        steps = reps * b
        res.setdefault(name, []).append(steps * B / dt)
        print(trial, name, f"{steps*B/dt:.0f} ex/s  {steps*flop/dt/1e9:.1f} GFLOP/s")
for name, v in res.items():
    print(name, "median ex/s", round(float(np.median(v))), "ratio", round(float(np.median(v) / np.median(res['einsum+tape'])), 2))
