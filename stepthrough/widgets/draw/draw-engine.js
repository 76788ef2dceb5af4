/* The builtin model in plain JavaScript: its UNet, its decoder, DDIM and Euler, and torch's seeded
   noise, written out so the page draws the same numbers as Python (stepthrough/builtin/nets.py
   builds the same networks with diffusers). No DOM here: the page runs it in a Worker made from a
   blob (the only kind a page opened from file:// may start), and tests run it as it is.

   Tensors are {c, h, w, d: Float32Array} in channel-major order; weights come from safetensors
   files (float16) read into Float32Arrays once. */
function StepthroughDrawEngine() {
  "use strict";

  // ---- weights: safetensors bytes → {name: {shape, d}} ----------------------------------------
  function halfToFloat(h) {
    var s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    if (e === 0) return s * f * Math.pow(2, -24);
    if (e === 31) return f ? NaN : s * Infinity;
    return s * (1 + f / 1024) * Math.pow(2, e - 15);
  }
  var HALF = new Float32Array(65536);
  for (var i = 0; i < 65536; i++) HALF[i] = halfToFloat(i);

  function readSafetensors(buffer) {
    var view = new DataView(buffer), size = view.getUint32(0, true);
    var header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, size)));
    var out = {};
    Object.keys(header).forEach(function (name) {
      if (name === "__metadata__") return;
      var t = header[name], start = 8 + size + t.data_offsets[0], n = (t.data_offsets[1] - t.data_offsets[0]);
      var d;
      if (t.dtype === "F16") {
        var src = new Uint16Array(buffer.slice(start, start + n));
        d = new Float32Array(src.length);
        for (var j = 0; j < src.length; j++) d[j] = HALF[src[j]];
      } else if (t.dtype === "F32") {
        d = new Float32Array(buffer.slice(start, start + n));
      } else if (t.dtype === "I32") {
        d = new Int32Array(buffer.slice(start, start + n));
      } else {
        throw new Error(name + ": dtype " + t.dtype + " is not read here");
      }
      out[name] = { shape: t.shape, d: d };
    });
    return out;
  }

  // ---- kernels ---------------------------------------------------------------------------------
  function tensor(c, h, w) { return { c: c, h: h, w: w, d: new Float32Array(c * h * w) }; }

  // 3×3 convolution, padding 1, stride 1 or 2: the input unrolled into columns (one row per input
  // channel and tap), then a matrix product that updates four output channels per pass over a row.
  function conv3(x, W, B, stride) {
    var ci = x.c, h = x.h, w = x.w, s = stride || 1;
    var oh = s === 1 ? h : Math.floor((h - 1) / 2) + 1, ow = s === 1 ? w : Math.floor((w - 1) / 2) + 1, n = oh * ow;
    var col = new Float32Array(ci * 9 * n), xd = x.d;
    for (var c = 0; c < ci; c++) {
      for (var ky = 0; ky < 3; ky++) {
        for (var kx = 0; kx < 3; kx++) {
          var at = ((c * 3 + ky) * 3 + kx) * n;
          for (var y = 0; y < oh; y++) {
            var sy = y * s + ky - 1;
            if (sy < 0 || sy >= h) { at += ow; continue; }
            var src = (c * h + sy) * w;
            for (var xx = 0; xx < ow; xx++, at++) {
              var sx = xx * s + kx - 1;
              col[at] = sx < 0 || sx >= w ? 0 : xd[src + sx];
            }
          }
        }
      }
    }
    return matmulChannels(W, B, col, ci * 9, n, oh, ow);
  }

  // out (co × n) = W (co × K) · col (K × n) + bias, four output rows at a time.
  function matmulChannels(W, B, col, K, n, oh, ow) {
    var co = W.shape[0], out = tensor(co, oh, ow), o = out.d, wd = W.d, k = 0, q, p;
    for (; k + 4 <= co; k += 4) {
      var r0 = k * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
      for (p = 0; p < n; p++) {
        o[r0 + p] = B ? B.d[k] : 0; o[r1 + p] = B ? B.d[k + 1] : 0; o[r2 + p] = B ? B.d[k + 2] : 0; o[r3 + p] = B ? B.d[k + 3] : 0;
      }
      for (q = 0; q < K; q++) {
        var w0 = wd[k * K + q], w1 = wd[(k + 1) * K + q], w2 = wd[(k + 2) * K + q], w3 = wd[(k + 3) * K + q], cq = q * n;
        for (p = 0; p < n; p++) {
          var v = col[cq + p];
          o[r0 + p] += w0 * v; o[r1 + p] += w1 * v; o[r2 + p] += w2 * v; o[r3 + p] += w3 * v;
        }
      }
    }
    for (; k < co; k++) {
      var r = k * n;
      for (p = 0; p < n; p++) o[r + p] = B ? B.d[k] : 0;
      for (q = 0; q < K; q++) {
        var wq = wd[k * K + q], cq2 = q * n;
        for (p = 0; p < n; p++) o[r + p] += wq * col[cq2 + p];
      }
    }
    return out;
  }

  // 1×1 convolution = a matrix over channels at every pixel.
  function conv1(x, W, B) { return matmulChannels(W, B, x.d, x.c, x.h * x.w, x.h, x.w); }

  function groupNorm(x, groups, G, B, eps, silu) {
    var per = x.c / groups, n = x.h * x.w, out = tensor(x.c, x.h, x.w);
    for (var g = 0; g < groups; g++) {
      var start = g * per * n, end = start + per * n, mean = 0, v = 0, i;
      for (i = start; i < end; i++) mean += x.d[i];
      mean /= (end - start);
      for (i = start; i < end; i++) { var dv = x.d[i] - mean; v += dv * dv; }
      var inv = 1 / Math.sqrt(v / (end - start) + eps);
      for (var c = g * per; c < (g + 1) * per; c++) {
        var a = G.d[c] * inv, b = B.d[c] - mean * a;
        for (i = c * n; i < (c + 1) * n; i++) {
          var y = x.d[i] * a + b;
          out.d[i] = silu ? y / (1 + Math.exp(-y)) : y;
        }
      }
    }
    return out;
  }

  function add(a, b) { var o = tensor(a.c, a.h, a.w); for (var i = 0; i < o.d.length; i++) o.d[i] = a.d[i] + b.d[i]; return o; }

  function cat(a, b) {
    var o = tensor(a.c + b.c, a.h, a.w); o.d.set(a.d, 0); o.d.set(b.d, a.d.length); return o;
  }

  function upsample(x) {
    var o = tensor(x.c, x.h * 2, x.w * 2), w2 = x.w * 2;
    for (var c = 0; c < x.c; c++) {
      for (var y = 0; y < x.h * 2; y++) {
        for (var xx = 0; xx < w2; xx++) o.d[(c * x.h * 2 + y) * w2 + xx] = x.d[(c * x.h + (y >> 1)) * x.w + (xx >> 1)];
      }
    }
    return o;
  }

  // Dense layer on rows: X (n × k, row-major) · Wᵀ (W: m × k) + b → n × m; four outputs per pass
  // over a row of X (measured twice as fast as one at a time in V8).
  function linear(X, n, W, B) {
    var m = W.shape[0], k = W.shape[1], out = new Float32Array(n * m), wd = W.d, j, q;
    for (var r = 0; r < n; r++) {
      var xo = r * k, oo = r * m;
      for (j = 0; j + 4 <= m; j += 4) {
        var s0 = 0, s1 = 0, s2 = 0, s3 = 0, w0 = j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        for (q = 0; q < k; q++) {
          var x = X[xo + q];
          s0 += x * wd[w0 + q]; s1 += x * wd[w1 + q]; s2 += x * wd[w2 + q]; s3 += x * wd[w3 + q];
        }
        out[oo + j] = s0 + (B ? B.d[j] : 0); out[oo + j + 1] = s1 + (B ? B.d[j + 1] : 0);
        out[oo + j + 2] = s2 + (B ? B.d[j + 2] : 0); out[oo + j + 3] = s3 + (B ? B.d[j + 3] : 0);
      }
      for (; j < m; j++) {
        var s = 0, wo = j * k;
        for (q = 0; q < k; q++) s += X[xo + q] * wd[wo + q];
        out[oo + j] = s + (B ? B.d[j] : 0);
      }
    }
    return out;
  }

  function silu(v) { var o = new Float32Array(v.length); for (var i = 0; i < v.length; i++) o[i] = v[i] / (1 + Math.exp(-v[i])); return o; }

  function layerNorm(X, n, k, G, B, eps) {
    var out = new Float32Array(n * k);
    for (var r = 0; r < n; r++) {
      var mean = 0, v = 0, q, o = r * k;
      for (q = 0; q < k; q++) mean += X[o + q];
      mean /= k;
      for (q = 0; q < k; q++) { var d = X[o + q] - mean; v += d * d; }
      var inv = 1 / Math.sqrt(v / k + eps);
      for (q = 0; q < k; q++) out[o + q] = (X[o + q] - mean) * inv * G.d[q] + B.d[q];
    }
    return out;
  }

  // Scaled dot-product attention, `heads` heads: Q (nq × dim), K and V (nk × dim), row-major.
  function attention(Q, nq, K, V, nk, dim, heads) {
    var hd = dim / heads, scale = 1 / Math.sqrt(hd), out = new Float32Array(nq * dim), s = new Float64Array(nk);
    for (var h = 0; h < heads; h++) {
      for (var i = 0; i < nq; i++) {
        var max = -Infinity, j, q;
        for (j = 0; j < nk; j++) {
          var dot = 0;
          for (q = 0; q < hd; q++) dot += Q[i * dim + h * hd + q] * K[j * dim + h * hd + q];
          s[j] = dot * scale;
          if (s[j] > max) max = s[j];
        }
        var sum = 0;
        for (j = 0; j < nk; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
        for (j = 0; j < nk; j++) {
          var p = s[j] / sum;
          for (q = 0; q < hd; q++) out[i * dim + h * hd + q] += p * V[j * dim + h * hd + q];
        }
      }
    }
    return out;
  }

  // Channel-major (c × n) ↔ token rows (n × c).
  function toRows(x) {
    var n = x.h * x.w, r = new Float32Array(n * x.c);
    for (var c = 0; c < x.c; c++) for (var p = 0; p < n; p++) r[p * x.c + c] = x.d[c * n + p];
    return r;
  }
  function fromRows(r, c, h, w) {
    var o = tensor(c, h, w), n = h * w;
    for (var k = 0; k < c; k++) for (var p = 0; p < n; p++) o.d[k * n + p] = r[p * c + k];
    return o;
  }

  // erf to 1.2e-7 (Numerical Recipes' erfc), for GELU as torch computes it (exact, not tanh).
  function erf(x) {
    var z = Math.abs(x), t = 1 / (1 + 0.5 * z);
    var r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? 1 - r : r - 1;
  }

  // ---- the UNet (diffusers' UNet2DConditionModel as configured in weights/config.json) ---------
  function UNet(weights, config) {
    var P = function (name) {
      var t = weights[name];
      if (!t) throw new Error("unet weights: no tensor " + name);
      return t;
    };
    var has = function (name) { return !!weights[name]; };
    var groups = config.norm_num_groups, heads = config.attention_head_dim, ch0 = config.block_out_channels[0];

    function resnet(prefix, x, temb) {
      var h = groupNorm(x, groups, P(prefix + ".norm1.weight"), P(prefix + ".norm1.bias"), 1e-5, true);
      h = conv3(h, P(prefix + ".conv1.weight"), P(prefix + ".conv1.bias"));
      var t = linear(temb, 1, P(prefix + ".time_emb_proj.weight"), P(prefix + ".time_emb_proj.bias")), n = h.h * h.w;
      for (var c = 0; c < h.c; c++) for (var p = 0; p < n; p++) h.d[c * n + p] += t[c];
      h = groupNorm(h, groups, P(prefix + ".norm2.weight"), P(prefix + ".norm2.bias"), 1e-5, true);
      h = conv3(h, P(prefix + ".conv2.weight"), P(prefix + ".conv2.bias"));
      var skip = has(prefix + ".conv_shortcut.weight") ? conv1(x, P(prefix + ".conv_shortcut.weight"), P(prefix + ".conv_shortcut.bias")) : x;
      return add(skip, h);
    }

    function transformer(prefix, x, ctx) {
      var c = x.c, n = x.h * x.w, b = prefix + ".transformer_blocks.0";
      var h = groupNorm(x, groups, P(prefix + ".norm.weight"), P(prefix + ".norm.bias"), 1e-6, false);
      h = conv1(h, P(prefix + ".proj_in.weight"), P(prefix + ".proj_in.bias"));
      var r = toRows(h), z, q, k, v, a, i;
      // self-attention
      z = layerNorm(r, n, c, P(b + ".norm1.weight"), P(b + ".norm1.bias"), 1e-5);
      q = linear(z, n, P(b + ".attn1.to_q.weight")); k = linear(z, n, P(b + ".attn1.to_k.weight")); v = linear(z, n, P(b + ".attn1.to_v.weight"));
      a = linear(attention(q, n, k, v, n, c, heads), n, P(b + ".attn1.to_out.0.weight"), P(b + ".attn1.to_out.0.bias"));
      for (i = 0; i < r.length; i++) r[i] += a[i];
      // cross-attention to the caption's real tokens (padding is masked out to exactly zero weight in Python)
      z = layerNorm(r, n, c, P(b + ".norm2.weight"), P(b + ".norm2.bias"), 1e-5);
      q = linear(z, n, P(b + ".attn2.to_q.weight"));
      k = linear(ctx.hidden, ctx.tokens, P(b + ".attn2.to_k.weight")); v = linear(ctx.hidden, ctx.tokens, P(b + ".attn2.to_v.weight"));
      a = linear(attention(q, n, k, v, ctx.tokens, c, heads), n, P(b + ".attn2.to_out.0.weight"), P(b + ".attn2.to_out.0.bias"));
      for (i = 0; i < r.length; i++) r[i] += a[i];
      // feed-forward, GEGLU
      z = layerNorm(r, n, c, P(b + ".norm3.weight"), P(b + ".norm3.bias"), 1e-5);
      var g = linear(z, n, P(b + ".ff.net.0.proj.weight"), P(b + ".ff.net.0.proj.bias")), inner = g.length / n / 2, u = new Float32Array(n * inner);
      for (var row = 0; row < n; row++) {
        for (var j = 0; j < inner; j++) {
          var gate = g[row * 2 * inner + inner + j];
          u[row * inner + j] = g[row * 2 * inner + j] * 0.5 * gate * (1 + erf(gate / Math.SQRT2));
        }
      }
      a = linear(u, n, P(b + ".ff.net.2.weight"), P(b + ".ff.net.2.bias"));
      for (i = 0; i < r.length; i++) r[i] += a[i];
      h = conv1(fromRows(r, c, x.h, x.w), P(prefix + ".proj_out.weight"), P(prefix + ".proj_out.bias"));
      return add(h, x);
    }

    function timeEmbedding(t, pooled) {
      var half = ch0 / 2, e = new Float32Array(ch0), f = Math.fround;
      for (var j = 0; j < half; j++) {
        var arg = f(f(t) * f(Math.exp(f(f(-Math.log(10000) * j) / half))));
        e[j] = Math.cos(arg); e[half + j] = Math.sin(arg);  // flip_sin_to_cos
      }
      var temb = linear(silu(linear(e, 1, P("time_embedding.linear_1.weight"), P("time_embedding.linear_1.bias"))), 1,
        P("time_embedding.linear_2.weight"), P("time_embedding.linear_2.bias"));
      var cemb = linear(silu(linear(pooled, 1, P("class_embedding.linear_1.weight"), P("class_embedding.linear_1.bias"))), 1,
        P("class_embedding.linear_2.weight"), P("class_embedding.linear_2.bias"));
      for (j = 0; j < temb.length; j++) temb[j] += cemb[j];
      return silu(temb);  // every resnet applies SiLU before its projection
    }

    // x: {c,h,w,d}; ctx: {hidden: Float32Array(tokens × 384), tokens, pooled: Float32Array(384)}.
    function predict(x, t, ctx) {
      var temb = timeEmbedding(t, ctx.pooled), types = config.down_block_types, ups = config.up_block_types;
      var h = conv3(x, P("conv_in.weight"), P("conv_in.bias")), skips = [h], i, j;
      for (i = 0; i < types.length; i++) {
        for (j = 0; j < config.layers_per_block; j++) {
          h = resnet("down_blocks." + i + ".resnets." + j, h, temb);
          if (types[i].indexOf("CrossAttn") === 0) h = transformer("down_blocks." + i + ".attentions." + j, h, ctx);
          skips.push(h);
        }
        if (has("down_blocks." + i + ".downsamplers.0.conv.weight")) {
          h = conv3(h, P("down_blocks." + i + ".downsamplers.0.conv.weight"), P("down_blocks." + i + ".downsamplers.0.conv.bias"), 2);
          skips.push(h);
        }
      }
      h = resnet("mid_block.resnets.0", h, temb);
      h = transformer("mid_block.attentions.0", h, ctx);
      h = resnet("mid_block.resnets.1", h, temb);
      for (i = 0; i < ups.length; i++) {
        for (j = 0; j <= config.layers_per_block; j++) {
          h = resnet("up_blocks." + i + ".resnets." + j, cat(h, skips.pop()), temb);
          if (ups[i].indexOf("CrossAttn") === 0) h = transformer("up_blocks." + i + ".attentions." + j, h, ctx);
        }
        if (has("up_blocks." + i + ".upsamplers.0.conv.weight")) {
          h = conv3(upsample(h), P("up_blocks." + i + ".upsamplers.0.conv.weight"), P("up_blocks." + i + ".upsamplers.0.conv.bias"));
        }
      }
      h = groupNorm(h, groups, P("conv_norm_out.weight"), P("conv_norm_out.bias"), 1e-5, true);
      return conv3(h, P("conv_out.weight"), P("conv_out.bias"));
    }
    predict.timeEmbedding = timeEmbedding;  // the GPU path (draw-webgl.js) runs the rest
    return predict;
  }

  // ---- the decoder (diffusers' AutoencoderKL.decode) -------------------------------------------
  function Decoder(weights, config) {
    var P = function (name) {
      var t = weights[name];
      if (!t) throw new Error("decoder weights: no tensor " + name);
      return t;
    };
    var groups = config.norm_num_groups, levels = config.block_out_channels.length;
    function resnet(prefix, x) {
      var h = groupNorm(x, groups, P(prefix + ".norm1.weight"), P(prefix + ".norm1.bias"), 1e-6, true);
      h = conv3(h, P(prefix + ".conv1.weight"), P(prefix + ".conv1.bias"));
      h = groupNorm(h, groups, P(prefix + ".norm2.weight"), P(prefix + ".norm2.bias"), 1e-6, true);
      h = conv3(h, P(prefix + ".conv2.weight"), P(prefix + ".conv2.bias"));
      var skip = weights[prefix + ".conv_shortcut.weight"] ? conv1(x, P(prefix + ".conv_shortcut.weight"), P(prefix + ".conv_shortcut.bias")) : x;
      return add(skip, h);
    }
    function selfAttention(prefix, x) {
      var n = x.h * x.w, c = x.c;
      var r = toRows(groupNorm(x, groups, P(prefix + ".group_norm.weight"), P(prefix + ".group_norm.bias"), 1e-6, false));
      var q = linear(r, n, P(prefix + ".to_q.weight"), P(prefix + ".to_q.bias"));
      var k = linear(r, n, P(prefix + ".to_k.weight"), P(prefix + ".to_k.bias"));
      var v = linear(r, n, P(prefix + ".to_v.weight"), P(prefix + ".to_v.bias"));
      var a = linear(attention(q, n, k, v, n, c, 1), n, P(prefix + ".to_out.0.weight"), P(prefix + ".to_out.0.bias"));
      return add(fromRows(a, c, x.h, x.w), x);
    }
    // latents (normalised, as the sampler makes them) → RGB in [0, 1], (3, H, W)
    return function decode(latents) {
      var z = tensor(latents.c, latents.h, latents.w);
      for (var i = 0; i < z.d.length; i++) z.d[i] = latents.d[i] / config.scaling_factor + config.shift_factor;
      var h = conv1(z, P("post_quant_conv.weight"), P("post_quant_conv.bias"));
      h = conv3(h, P("decoder.conv_in.weight"), P("decoder.conv_in.bias"));
      h = resnet("decoder.mid_block.resnets.0", h);
      h = selfAttention("decoder.mid_block.attentions.0", h);
      h = resnet("decoder.mid_block.resnets.1", h);
      for (var b = 0; b < levels; b++) {
        for (var j = 0; j <= config.layers_per_block; j++) h = resnet("decoder.up_blocks." + b + ".resnets." + j, h);
        if (weights["decoder.up_blocks." + b + ".upsamplers.0.conv.weight"]) {
          h = conv3(upsample(h), P("decoder.up_blocks." + b + ".upsamplers.0.conv.weight"), P("decoder.up_blocks." + b + ".upsamplers.0.conv.bias"));
        }
      }
      h = groupNorm(h, groups, P("decoder.conv_norm_out.weight"), P("decoder.conv_norm_out.bias"), 1e-6, true);
      h = conv3(h, P("decoder.conv_out.weight"), P("decoder.conv_out.bias"));
      for (i = 0; i < h.d.length; i++) h.d[i] = Math.min(1, Math.max(0, (h.d[i] + 1) / 2));
      return h;
    };
  }

  // ---- torch.randn(shape, generator=torch.Generator().manual_seed(seed)) on a CPU -------------
  // mt19937 seeded with the seed's low 32 bits; uniforms from 24 bits; Box–Muller over blocks of 16
  // (ATen's normal_fill, used for tensors of 16 values or more).
  function randn(count, seed) {
    var mt = new Uint32Array(624), idx = 624, k;
    mt[0] = seed >>> 0;
    for (k = 1; k < 624; k++) {
      var prev = mt[k - 1] ^ (mt[k - 1] >>> 30);
      mt[k] = (((((prev & 0xffff0000) >>> 16) * 1812433253) << 16) + (prev & 0x0000ffff) * 1812433253 + k) >>> 0;
    }
    function next() {
      if (idx >= 624) {
        for (var j = 0; j < 624; j++) {
          var y = (mt[j] & 0x80000000) | (mt[(j + 1) % 624] & 0x7fffffff);
          mt[j] = mt[(j + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
        }
        idx = 0;
      }
      var v = mt[idx++];
      v ^= v >>> 11; v ^= (v << 7) & 0x9d2c5680; v ^= (v << 15) & 0xefc60000; v ^= v >>> 18;
      return v >>> 0;
    }
    function uniform() { return Math.fround((next() & 0xffffff) * Math.pow(2, -24)); }
    function fill16(d, at) {
      for (var j = 0; j < 8; j++) {
        var u1 = 1 - d[at + j], u2 = d[at + j + 8];
        var radius = Math.sqrt(-2 * Math.log(u1)), theta = 2 * Math.PI * u2;
        d[at + j] = radius * Math.cos(theta); d[at + j + 8] = radius * Math.sin(theta);
      }
    }
    var d = new Float32Array(count);
    if (count < 16) throw new Error("randn: fewer than 16 values draw differently in torch");
    for (k = 0; k < count; k++) d[k] = uniform();
    for (k = 0; k + 16 <= count; k += 16) fill16(d, k);
    if (count % 16) {
      for (k = count - 16; k < count; k++) d[k] = uniform();
      fill16(d, count - 16);
    }
    return d;
  }

  // ---- samplers: diffusers' DDIM (η = 0) and Euler, "trailing" timesteps, v-prediction ---------
  function roundHalfEven(v) {
    var r = Math.round(v);
    return Math.abs(v % 1) === 0.5 && r % 2 ? r - 1 : r;
  }
  function timesteps(steps, train) {  // numpy: round(arange(train, 0, -train / steps)) - 1
    var out = [], ratio = train / steps;
    for (var i = 0; train - i * ratio > 0; i++) out.push(roundHalfEven(train - i * ratio) - 1);
    return out;
  }

  function Sampler(kind, steps, alphasCumprod) {
    var ac = alphasCumprod, train = ac.length, ts = timesteps(steps, train);
    if (kind === "euler") {
      var sig = function (t) { return Math.sqrt((1 - ac[t]) / ac[t]); };
      var sigmas = ts.map(sig).concat([0]);
      return {
        timesteps: ts,
        initSigma: Math.sqrt(sigmas[0] * sigmas[0] + 1),
        // what the model sees (x_t with unit variance) and the signal level there
        modelInput: function (x, i) { return scale(x, 1 / Math.sqrt(sigmas[i] * sigmas[i] + 1)); },
        alphaBar: function (i) { return 1 / (1 + sigmas[i] * sigmas[i]); },
        step: function (x, v, i) {
          var s = sigmas[i], c = Math.sqrt(s * s + 1), dt = sigmas[i + 1] - s, out = new Float32Array(x.length);
          for (var j = 0; j < x.length; j++) {
            var den = v[j] * (-s / c) + x[j] / (s * s + 1);
            out[j] = x[j] + ((x[j] - den) / s) * dt;
          }
          return out;
        }
      };
    }
    return {
      timesteps: ts,
      initSigma: 1,
      modelInput: function (x) { return x; },
      alphaBar: function (i) { return ac[ts[i]]; },
      step: function (x, v, i) {
        var t = ts[i], prev = t - Math.floor(train / steps), a = ac[t], ap = prev >= 0 ? ac[prev] : 1, out = new Float32Array(x.length);
        var sa = Math.sqrt(a), sb = Math.sqrt(1 - a), spa = Math.sqrt(ap), spb = Math.sqrt(1 - ap);
        for (var j = 0; j < x.length; j++) {
          var x0 = sa * x[j] - sb * v[j], eps = sa * v[j] + sb * x[j];
          out[j] = spa * x0 + spb * eps;
        }
        return out;
      }
    };
  }

  function scale(x, s) { var o = new Float32Array(x.length); for (var i = 0; i < x.length; i++) o[i] = x[i] * s; return o; }

  // One guided trajectory, a step at a time: next() runs step i and returns
  // {i, steps, xt: what the model saw, denoised: its guess of the clean latent}; after the last step
  // it returns {i: steps, final: the result} once, then null. In latents.
  function Trajectory(model, job) {
    var shape = model.latentShape, n = shape[0] * shape[1] * shape[2];
    var sampler = Sampler(job.sampler, job.steps, model.alphasCumprod);
    var x = scale(randn(n, job.seed), sampler.initSigma), i = 0, steps = sampler.timesteps.length;
    function latent(d) { return { c: shape[0], h: shape[1], w: shape[2], d: d }; }
    return {
      steps: steps,
      next: function () {
        if (i > steps) return null;
        if (i === steps) { i++; return { i: steps, steps: steps, final: latent(x) }; }
        var t = sampler.timesteps[i], input = sampler.modelInput(x, i), v, j;
        if (job.guidance === 1) {
          v = model.unet(latent(input), t, job.cond).d;
        } else {  // classifier-free guidance: uncond + scale · (cond − uncond)
          var u = model.unet(latent(input), t, job.uncond).d, c = model.unet(latent(input), t, job.cond).d;
          v = new Float32Array(n);
          for (j = 0; j < n; j++) v[j] = u[j] + job.guidance * (c[j] - u[j]);
        }
        var a = sampler.alphaBar(i), sa = Math.sqrt(a), sb = Math.sqrt(1 - a), den = new Float32Array(n);
        for (j = 0; j < n; j++) den[j] = sa * input[j] - sb * v[j];  // x̂0 from v
        x = sampler.step(x, v, i);
        return { i: i++, steps: steps, xt: latent(input), denoised: latent(den) };
      }
    };
  }

  function fromBase64(text) {
    var bin = atob(text), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  // The model from the global draw-model.js sets (base64 safetensors and config).
  function load(files) {
    var states = readSafetensors(fromBase64(files.captionStates)), dim = states.hidden.shape[1];
    var weights = { unet: readSafetensors(fromBase64(files.unet)), decoder: readSafetensors(fromBase64(files.decoder)) };
    return {
      unet: UNet(weights.unet, files.config.unet),
      decode: Decoder(weights.decoder, files.config.autoencoder),
      weights: weights,
      config: files.config,
      engine: "cpu",
      alphasCumprod: files.alphasCumprod,
      latentShape: files.latentShape,
      captions: files.captions,
      // a caption's token states, and their mean at unit length (the sentence vector Python pools)
      caption: function (index) {
        var at = states.offsets.d[index], tokens = states.offsets.d[index + 1] - at;
        var hidden = states.hidden.d.subarray(at * dim, (at + tokens) * dim), pooled = new Float32Array(dim), norm = 0, q;
        for (var r = 0; r < tokens; r++) for (q = 0; q < dim; q++) pooled[q] += hidden[r * dim + q] / tokens;
        for (q = 0; q < dim; q++) norm += pooled[q] * pooled[q];
        norm = Math.max(Math.sqrt(norm), 1e-12);
        for (q = 0; q < dim; q++) pooled[q] /= norm;
        return { hidden: hidden, tokens: tokens, pooled: pooled };
      }
    };
  }

  // A decoded picture (3, H, W) in [0, 1] → RGBA bytes, rounded as Python's frames are.
  function rgba(img) {
    var n = img.h * img.w, out = new Uint8ClampedArray(n * 4);
    for (var p = 0; p < n; p++) {
      out[p * 4] = Math.round(img.d[p] * 255); out[p * 4 + 1] = Math.round(img.d[n + p] * 255);
      out[p * 4 + 2] = Math.round(img.d[2 * n + p] * 255); out[p * 4 + 3] = 255;
    }
    return out;
  }

  // What a step took off the canvas, x_(k-1) − x_k around mid-grey, stretched to its 99th percentile
  // (precompute/frames.py removed_noise); `before` null: the first frame, plain grey.
  function removed(before, after) {
    var out = new Uint8ClampedArray(after.length), diffs = [], p;
    if (!before) { for (p = 0; p < out.length; p++) out[p] = p % 4 === 3 ? 255 : 128; return out; }
    for (p = 0; p < after.length; p++) if (p % 4 !== 3) diffs.push(Math.abs(before[p] - after[p]) / 255);
    var sorted = diffs.slice().sort(function (a, b) { return a - b; }), at = 0.99 * (sorted.length - 1), lo = Math.floor(at);
    var scale = Math.max(1e-6, sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo));
    for (p = 0; p < after.length; p++) {
      out[p] = p % 4 === 3 ? 255 : Math.round(Math.min(1, Math.max(0, 0.5 + 0.5 * ((before[p] - after[p]) / 255) / scale)) * 255);
    }
    return out;
  }

  // ---- a blend of two captions, as PromptEmbedding.blend makes it (precompute/models/base.py) ----
  // Python pads both captions to one length and mixes them position by position, (1 − w)·a + w·b,
  // hidden states and pooled vectors alike; strictly between 0 and 1 the UNet attends to the
  // tokens of either, so a short caption's padding states (the encoder computes states there too)
  // meet the longer one's tokens. At 0 and 1 it is exactly that caption.
  function lerp(a, b, w) {  // torch.lerp, in float32
    var f = Math.fround, d = f(b - a);
    return w < 0.5 ? f(a + f(w * d)) : f(b - f(d * f(1 - w)));
  }

  // The captions' padding states (draw-pads.js: base64 safetensors): pads(i) gives caption i's, from
  // its last real token up to the longest caption's length, as rows of `dim`.
  function Pads(text) {
    var file = readSafetensors(fromBase64(text)), hidden = file.hidden, offsets = file.offsets.d, dim = hidden.shape[1];
    return function pads(index) { return hidden.d.subarray(offsets[index] * dim, offsets[index + 1] * dim); };
  }

  // a, b: captions as load's caption(i) gives them; padsA, padsB: their padding states.
  function blendCaptions(a, b, w, padsA, padsB) {
    if (w <= 0) return a;
    if (w >= 1) return b;
    var dim = a.pooled.length, tokens = Math.max(a.tokens, b.tokens), hidden = new Float32Array(tokens * dim);
    var pooled = new Float32Array(dim), q;
    function row(c, pads, j) {
      if (j < c.tokens) return c.hidden.subarray(j * dim, (j + 1) * dim);
      var at = (j - c.tokens) * dim;
      if (!pads || at + dim > pads.length) throw new Error("blend: no padding states for a caption this short");
      return pads.subarray(at, at + dim);
    }
    for (var j = 0; j < tokens; j++) {
      var ra = row(a, padsA, j), rb = row(b, padsB, j);
      for (q = 0; q < dim; q++) hidden[j * dim + q] = lerp(ra[q], rb[q], w);
    }
    for (q = 0; q < dim; q++) pooled[q] = lerp(a.pooled[q], b.pooled[q], w);
    return { hidden: hidden, tokens: tokens, pooled: pooled };
  }

  return {
    readSafetensors: readSafetensors, load: load, conv3: conv3, UNet: UNet, Decoder: Decoder, randn: randn,
    Sampler: Sampler, timesteps: timesteps, Trajectory: Trajectory, rgba: rgba, removed: removed,
    Pads: Pads, blendCaptions: blendCaptions
  };
}


/* The Worker's side (draw.js starts it from a blob holding this function and the engine's source):
   "load" reads the model once; "draw" runs a trajectory a step per task, so a "stop" or a newer
   "draw" is heard between steps; each step posts its three views as RGBA bytes. */
function StepthroughDrawWorker(scope) {
  "use strict";
  var engine = StepthroughDrawEngine(), model = null, run = null;
  function now() { return typeof performance !== "undefined" ? performance.now() : Date.now(); }
  scope.onmessage = function (event) {
    var m = event.data;
    try {
      if (m.type === "load") {
        var t0 = now();
        model = engine.load(m.files);
        var why = useGPU(m.engine);
        scope.postMessage({ type: "loaded", seconds: (now() - t0) / 1000, engine: model.engine, why: why });
      } else if (m.type === "pads") {
        try {
          model.pads = engine.Pads(m.text);
          scope.postMessage({ type: "padsLoaded" });
        } catch (error) {
          scope.postMessage({ type: "padsLoaded", error: String(error && error.message || error) });
        }
      } else if (m.type === "draw") {
        var job = m.job;
        job.cond = conditioning(job);
        job.uncond = model.caption(0);
        run = { id: m.id, trajectory: engine.Trajectory(model, job), before: null };
        setTimeout(tick, 0);
      } else if (m.type === "stop") {
        run = null;
      }
    } catch (error) {
      scope.postMessage({ type: "error", message: String(error && error.message || error) });
    }
  };
  // The GPU (draw-webgl.js) draws when it can, unless the page asks for the CPU ("cpu"); asked for
  // "webgl", a GPU that cannot is an error. Returns why the CPU draws, or null.
  function useGPU(wanted) {
    if (wanted === "cpu") return "asked for the CPU";
    try {
      if (typeof StepthroughDrawWebGL === "undefined") throw new Error("no GPU path loaded");
      StepthroughDrawWebGL(engine, model, { strict: wanted === "webgl" });
      return null;
    } catch (error) {
      if (wanted === "webgl") throw error;
      return String(error && error.message || error);
    }
  }
  // The job's caption, or its blend towards a second one (job.towards, by job.blend).
  function conditioning(job) {
    if (!job.towards || job.towards === job.caption || !(job.blend > 0)) return model.caption(job.caption);
    if (job.blend >= 1) return model.caption(job.towards);
    return engine.blendCaptions(model.caption(job.caption), model.caption(job.towards), job.blend,
      model.pads && model.pads(job.caption), model.pads && model.pads(job.towards));
  }
  function tick() {
    var r = run;
    if (!r) return;
    try {
      var t0 = now(), s = r.trajectory.next();
      if (!s) { run = null; return scope.postMessage({ type: "done", id: r.id }); }
      var out = { type: "step", id: r.id, i: s.i, steps: s.steps, engine: model.engine }, picture;
      if (s.final) {
        picture = model.decode(s.final);
        out.xt = out.x0 = engine.rgba(picture);
        out.picture = picture.d;  // the result in [0, 1], for a test to compare with Python's
        out.latent = s.final.d;
      } else {
        out.xt = engine.rgba(model.decode(s.xt));
        out.x0 = engine.rgba(model.decode(s.denoised));
      }
      out.noise = engine.removed(r.before, out.xt);
      out.seconds = (now() - t0) / 1000;
      r.before = out.xt;
      scope.postMessage(out);
      if (run === r) setTimeout(tick, 0);
    } catch (error) {
      run = null;
      scope.postMessage({ type: "error", message: String(error && error.message || error) });
    }
  }
}
if (typeof module !== "undefined") module.exports = { Engine: StepthroughDrawEngine, Worker: StepthroughDrawWorker };
