/* Hand-written adjoints of the NumPy benchmark programs (bench/wasm.py), the reference the
   Wasm gradient is held against: value and gradient in one call, row-major float64 arrays,
   scratch buffers passed in (no allocation in the timed call).  Compiled with cc -O2. */
#include <math.h>
#include <string.h>

/* sum(tanh(A @ w)), A (n, m) */
double tanh_aw_grad(int n, int m, const double *A, const double *w, double *bA, double *bw,
                    double *t) {
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        double acc = 0.0;
        for (int j = 0; j < m; j++) acc += A[i * m + j] * w[j];
        t[i] = tanh(acc);
        s += t[i];
    }
    memset(bw, 0, sizeof(double) * m);
    for (int i = 0; i < n; i++) {
        double g = 1.0 - t[i] * t[i];
        for (int j = 0; j < m; j++) {
            bA[i * m + j] = g * w[j];
            bw[j] += g * A[i * m + j];
        }
    }
    return s;
}

/* the softmax cross-entropy of a two-layer perceptron: x (n, d), w1 (d, k), b1 (k),
   w2 (k, c), b2 (c), y (n, c); -mean(log_softmax(tanh(x @ w1 + b1) @ w2 + b2) * y) */
double mlp_grad(int n, int d, int k, int c, const double *x, const double *w1,
                const double *b1, const double *w2, const double *b2, const double *y,
                double *bw1, double *bb1, double *bw2, double *bb2, double *h, double *z) {
    double loss = 0.0, scale = 1.0 / ((double)n * c);
    memset(bw1, 0, sizeof(double) * d * k);
    memset(bb1, 0, sizeof(double) * k);
    memset(bw2, 0, sizeof(double) * k * c);
    memset(bb2, 0, sizeof(double) * c);
    for (int i = 0; i < n; i++) {
        double *hi = h + i * k, *zi = z + i * c;
        for (int j = 0; j < k; j++) {
            double acc = b1[j];
            for (int l = 0; l < d; l++) acc += x[i * d + l] * w1[l * k + j];
            hi[j] = tanh(acc);
        }
        double mx = -INFINITY;
        for (int q = 0; q < c; q++) {
            double acc = b2[q];
            for (int j = 0; j < k; j++) acc += hi[j] * w2[j * c + q];
            zi[q] = acc;
            if (acc > mx) mx = acc;
        }
        double se = 0.0;
        for (int q = 0; q < c; q++) se += exp(zi[q] - mx);
        double lse = log(se) + mx, sy = 0.0;
        for (int q = 0; q < c; q++) {
            loss -= (zi[q] - lse) * y[i * c + q] * scale;
            sy += y[i * c + q];
        }
        /* d loss / d logits = (softmax * sum(y) - y) * scale */
        for (int q = 0; q < c; q++) zi[q] = (exp(zi[q] - lse) * sy - y[i * c + q]) * scale;
        for (int j = 0; j < k; j++) {
            double dh = 0.0;
            for (int q = 0; q < c; q++) {
                bw2[j * c + q] += hi[j] * zi[q];
                dh += zi[q] * w2[j * c + q];
            }
            double da = dh * (1.0 - hi[j] * hi[j]);
            bb1[j] += da;
            for (int l = 0; l < d; l++) bw1[l * k + j] += x[i * d + l] * da;
        }
        for (int q = 0; q < c; q++) bb2[q] += zi[q];
    }
    return loss;
}

/* -sum_i logsumexp_k(-|x_i - mu_k|^2): x (n, d), mu (K, d); the gradient for mu */
double gmm_grad(int n, int d, int K, const double *x, const double *mu, double *bmu,
                double *d2) {
    double value = 0.0;
    memset(bmu, 0, sizeof(double) * K * d);
    for (int i = 0; i < n; i++) {
        double mx = -INFINITY;
        for (int k = 0; k < K; k++) {
            double s = 0.0;
            for (int l = 0; l < d; l++) {
                double e = x[i * d + l] - mu[k * d + l];
                s += e * e;
            }
            d2[k] = s;
            if (-s > mx) mx = -s;
        }
        double se = 0.0;
        for (int k = 0; k < K; k++) se += exp(-d2[k] - mx);
        value -= log(se) + mx;
        for (int k = 0; k < K; k++) {
            double p = exp(-d2[k] - mx) / se;
            for (int l = 0; l < d; l++)
                bmu[k * d + l] += 2.0 * p * (mu[k * d + l] - x[i * d + l]);
        }
    }
    return value;
}
