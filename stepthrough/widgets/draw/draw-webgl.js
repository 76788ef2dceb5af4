/* The draw engine's GPU path: the same UNet and decoder as draw-engine.js, run by WebGL2 fragment
   shaders, one small program per kind of layer. StepthroughDrawWebGL(engine, model, options)
   swaps model.unet and model.decode for GPU ones with the same interface and sets model.engine
   to "webgl", or throws the reason it cannot (no WebGL2, no float render targets, a shader that
   does not compile, a small convolution or one UNet evaluation that disagrees with the CPU
   engine's): the caller then keeps the CPU engine. options.strict: a GPU that fails later is an
   error, not a quiet return to the CPU.

   A tensor {c, h, w} lives in a float texture (RGBA32F) n = h·w texels wide and ⌈c/4⌉ rows high:
   texel (p, r) holds channels 4r..4r+3 at position p (y·w + x). Tokens are positions, so a dense
   layer is a 1×1 convolution and nothing is ever transposed. A pass over the network stays on
   the GPU; only its result comes back (a latent, a picture). Weights go up once, when first used. */
function StepthroughDrawWebGL(engine, model, options) {
  "use strict";
  options = options || {};
  var canvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(1, 1) : document.createElement("canvas");
  var gl = canvas.getContext("webgl2", { antialias: false, depth: false, stencil: false, preserveDrawingBuffer: false });
  if (!gl) throw new Error("no WebGL2");
  if (!gl.getExtension("EXT_color_buffer_float")) throw new Error("WebGL2 without float render targets");
  var maxSide = gl.getParameter(gl.MAX_TEXTURE_SIZE), fbo = gl.createFramebuffer();

  // ---- shaders ---------------------------------------------------------------------------------
  var VERTEX = "#version 300 es\nvoid main() { vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2); gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0); }";
  var HEAD = "#version 300 es\nprecision highp float;\nprecision highp int;\nprecision highp sampler2D;\nout vec4 result;\n" +
    "vec4 at(sampler2D s, int p, int r) { return texelFetch(s, ivec2(p, r), 0); }\n";
  // out[j] = Σ_k W[row, 4i+k → 4r+j] · x[k]: a 4×4 block of weights, one texel per output channel
  var BLOCK = "vec4 blockDot(int k, int r, vec4 x) { return vec4(dot(at(W, k, r), x), dot(at(W, k + 1, r), x), dot(at(W, k + 2, r), x), dot(at(W, k + 3, r), x)); }\n";
  var KERNELS = {
    // 3×3 convolution, padding 1, stride 1 or 2; W texel (4·(tap·inRows + i) + j, r)
    conv3: "uniform sampler2D X, W, B; uniform int inW, inH, inRows, outW, stride;\n" + BLOCK +
      "void main() { ivec2 o = ivec2(gl_FragCoord.xy); int oy = o.x / outW, ox = o.x - oy * outW; vec4 acc = at(B, 0, o.y);\n" +
      "  for (int t = 0; t < 9; t++) { int sy = oy * stride + t / 3 - 1, sx = ox * stride + t % 3 - 1;\n" +
      "    if (sy < 0 || sy >= inH || sx < 0 || sx >= inW) continue;\n" +
      "    for (int i = 0; i < inRows; i++) acc += blockDot(4 * (t * inRows + i), o.y, at(X, sy * inW + sx, i)); }\n" +
      "  result = acc; }",
    // 1×1 convolution, or a dense layer over tokens
    matmul: "uniform sampler2D X, W, B; uniform int inRows;\n" + BLOCK +
      "void main() { ivec2 o = ivec2(gl_FragCoord.xy); vec4 acc = at(B, 0, o.y);\n" +
      "  for (int i = 0; i < inRows; i++) acc += blockDot(4 * i, o.y, at(X, o.x, i));\n" +
      "  result = acc; }",
    // one group's mean and 1/std (two passes over its values, as the CPU engine does)
    groupStats: "uniform sampler2D X; uniform int n, per; uniform float eps;\n" +
      "float value(int c, int p) { return at(X, p, c / 4)[c % 4]; }\n" +
      "void main() { int g = int(gl_FragCoord.x); float mean = 0.0, v = 0.0, count = float(per * n);\n" +
      "  for (int c = g * per; c < (g + 1) * per; c++) { float s = 0.0; for (int p = 0; p < n; p++) s += value(c, p); mean += s; }\n" +
      "  mean /= count;\n" +
      "  for (int c = g * per; c < (g + 1) * per; c++) { float s = 0.0; for (int p = 0; p < n; p++) { float d = value(c, p) - mean; s += d * d; } v += s; }\n" +
      "  result = vec4(mean, 1.0 / sqrt(v / count + eps), 0.0, 0.0); }",
    groupNorm: "uniform sampler2D X, S, G, B; uniform int per, channels, silu;\n" +
      "void main() { ivec2 o = ivec2(gl_FragCoord.xy); vec4 x = at(X, o.x, o.y), g = at(G, 0, o.y), b = at(B, 0, o.y), r;\n" +
      "  for (int k = 0; k < 4; k++) { int c = 4 * o.y + k; vec4 s = at(S, min(c, channels - 1) / per, 0);\n" +
      "    float a = g[k] * s.y, y = x[k] * a + (b[k] - s.x * a);\n" +
      "    r[k] = c >= channels ? 0.0 : silu == 1 ? y / (1.0 + exp(-y)) : y; }\n" +
      "  result = r; }",
    // over the channels at each position (tokens' features)
    layerNorm: "uniform sampler2D X, G, B; uniform int rows; uniform float eps;\n" +
      "void main() { ivec2 o = ivec2(gl_FragCoord.xy); float mean = 0.0, v = 0.0, count = float(4 * rows);\n" +
      "  for (int r = 0; r < rows; r++) mean += dot(at(X, o.x, r), vec4(1.0));\n" +
      "  mean /= count;\n" +
      "  for (int r = 0; r < rows; r++) { vec4 d = at(X, o.x, r) - mean; v += dot(d, d); }\n" +
      "  result = (at(X, o.x, o.y) - mean) * (1.0 / sqrt(v / count + eps)) * at(G, 0, o.y) + at(B, 0, o.y); }",
    // attention scores, one row per head and query: S(j, h·nq + i) = q_i · k_j / √d over head h's rows
    scores: "uniform sampler2D Q, K; uniform int nq, headRows; uniform float scale;\n" +
      "void main() { ivec2 o = ivec2(gl_FragCoord.xy); int h = o.y / nq, i = o.y - h * nq; float s = 0.0;\n" +
      "  for (int r = h * headRows; r < (h + 1) * headRows; r++) s += dot(at(Q, i, r), at(K, o.x, r));\n" +
      "  result = vec4(s * scale, 0.0, 0.0, 0.0); }",
    // softmax over the keys, then the weighted sum of the values
    attend: "uniform sampler2D S, V; uniform int nq, nk, headRows;\n" +
      "void main() { ivec2 o = ivec2(gl_FragCoord.xy); int row = (o.y / headRows) * nq + o.x; float top = -1e38, sum = 0.0;\n" +
      "  for (int j = 0; j < nk; j++) top = max(top, at(S, j, row).x);\n" +
      "  for (int j = 0; j < nk; j++) sum += exp(at(S, j, row).x - top);\n" +
      "  vec4 acc = vec4(0.0);\n" +
      "  for (int j = 0; j < nk; j++) acc += exp(at(S, j, row).x - top) / sum * at(V, j, o.y);\n" +
      "  result = acc; }",
    // GEGLU: the first half times GELU (exact, with erf) of the second
    geglu: "uniform sampler2D X; uniform int gateRows;\n" +
      "float erf(float x) { float z = abs(x), t = 1.0 / (1.0 + 0.5 * z);\n" +
      "  float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +\n" +
      "    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));\n" +
      "  return x >= 0.0 ? 1.0 - r : r - 1.0; }\n" +
      "void main() { ivec2 o = ivec2(gl_FragCoord.xy); vec4 g = at(X, o.x, o.y + gateRows), x = at(X, o.x, o.y), r;\n" +
      "  for (int k = 0; k < 4; k++) r[k] = x[k] * 0.5 * g[k] * (1.0 + erf(g[k] / 1.4142135623730951));\n" +
      "  result = r; }",
    // a + b; b one position wide (a time embedding) is added at every position
    add: "uniform sampler2D A, B; uniform int wide;\n" +
      "void main() { ivec2 o = ivec2(gl_FragCoord.xy); result = at(A, o.x, o.y) + at(B, wide == 1 ? o.x : 0, o.y); }",
    concat: "uniform sampler2D A, B; uniform int rowsA;\n" +
      "void main() { ivec2 o = ivec2(gl_FragCoord.xy); result = o.y < rowsA ? at(A, o.x, o.y) : at(B, o.x, o.y - rowsA); }",
    upsample: "uniform sampler2D X; uniform int inW, outW;\n" +
      "void main() { ivec2 o = ivec2(gl_FragCoord.xy); int y = o.x / outW, x = o.x - y * outW; result = at(X, (y / 2) * inW + x / 2, o.y); }"
  };

  function shader(type, source) {
    var s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error("a WebGL shader did not compile: " + gl.getShaderInfoLog(s));
    return s;
  }
  var vertex = shader(gl.VERTEX_SHADER, VERTEX), programs = {};
  Object.keys(KERNELS).forEach(function (name) {
    var p = gl.createProgram();
    gl.attachShader(p, vertex);
    gl.attachShader(p, shader(gl.FRAGMENT_SHADER, HEAD + KERNELS[name]));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error("WebGL program " + name + " did not link: " + gl.getProgramInfoLog(p));
    programs[name] = { program: p, where: {} };
  });

  // ---- textures: a pool reused pass after pass ---------------------------------------------------
  function texture(width, height, data) {
    if (width > maxSide || height > maxSide) throw new Error("a " + width + "×" + height + " texture is past this GPU's " + maxSide);
    var t = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA32F, width, height);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    if (data) gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, width, height, gl.RGBA, gl.FLOAT, data);
    return t;
  }
  var free = {}, used = [];
  function take(c, h, w) {  // a texture for a pass's intermediate tensor, back in the pool at endPass
    var n = h * w, rows = Math.ceil(c / 4), key = n + "x" + rows, list = free[key] || (free[key] = []);
    var t = { c: c, h: h, w: w, n: n, rows: rows, tex: list.pop() || texture(n, rows), key: key };
    used.push(t);
    return t;
  }
  function endPass() { used.forEach(function (t) { free[t.key].push(t.tex); }); used = []; }

  // channel ch at position p → texel (p, ch / 4), component ch % 4; zeros past c
  function pack(c, n, value) {
    var rows = Math.ceil(c / 4), out = new Float32Array(rows * n * 4);
    for (var ch = 0; ch < c; ch++) for (var p = 0; p < n; p++) out[((ch >> 2) * n + p) * 4 + (ch & 3)] = value(ch, p);
    return out;
  }
  function upload(x) {  // {c, h, w, d} channel-major → a pooled texture
    var t = take(x.c, x.h, x.w), n = t.n;
    gl.bindTexture(gl.TEXTURE_2D, t.tex);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, n, t.rows, gl.RGBA, gl.FLOAT, pack(x.c, n, function (ch, p) { return x.d[ch * n + p]; }));
    return t;
  }
  function readback(t) {
    var buf = new Float32Array(t.n * t.rows * 4), out = new Float32Array(t.c * t.n);
    gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t.tex, 0);
    gl.readPixels(0, 0, t.n, t.rows, gl.RGBA, gl.FLOAT, buf);
    if (gl.isContextLost()) throw new Error("the browser took the GPU back (WebGL context lost)");  // else: zeros
    for (var ch = 0; ch < t.c; ch++) for (var p = 0; p < t.n; p++) out[ch * t.n + p] = buf[((ch >> 2) * t.n + p) * 4 + (ch & 3)];
    return { c: t.c, h: t.h, w: t.w, d: out };
  }

  // Weights, uploaded on first use and kept: a (co, ci, taps) kernel as 4×4 blocks, texel
  // (4·(tap·⌈ci/4⌉ + i) + j, r) = the weights from channels 4i..4i+3 into channel 4r+j; a vector
  // (bias, scale) one texel wide.
  var uploaded = new Map(), zeros = {};
  function weight(W) {
    if (uploaded.has(W)) return uploaded.get(W);
    var co = W.shape[0], ci = W.shape[1], taps = W.d.length / (co * ci), ri = Math.ceil(ci / 4), ro = Math.ceil(co / 4), width = 4 * taps * ri;
    var data = new Float32Array(ro * width * 4);
    for (var o = 0; o < co; o++) {
      for (var c = 0; c < ci; c++) {
        for (var t = 0; t < taps; t++) data[((o >> 2) * width + 4 * (t * ri + (c >> 2)) + (o & 3)) * 4 + (c & 3)] = W.d[(o * ci + c) * taps + t];
      }
    }
    var out = { tex: texture(width, ro, data), rows: ri };
    uploaded.set(W, out);
    return out;
  }
  function vector(V, c) {
    if (uploaded.has(V)) return uploaded.get(V);
    var out = { tex: texture(1, Math.ceil(c / 4), pack(c, 1, function (ch) { return ch < V.d.length ? V.d[ch] : 0; })) };
    uploaded.set(V, out);
    return out;
  }
  function bias(B, c) { return vector(B || zeros[c] || (zeros[c] = { d: new Float32Array(0) }), c); }

  // ---- one pass of a kernel ----------------------------------------------------------------------
  function now() { return typeof performance !== "undefined" ? performance.now() : Date.now(); }
  function run(name, out, textures, ints, floats) {
    // model.profile = {} (benchmarks/draw.py): each pass waits for the GPU and adds its seconds by kernel
    var k = programs[name], unit = 0, profile = model.profile, t0 = profile ? now() : 0;
    function where(key) { return key in k.where ? k.where[key] : (k.where[key] = gl.getUniformLocation(k.program, key)); }
    gl.useProgram(k.program);
    gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, out.tex, 0);
    gl.viewport(0, 0, out.n, out.rows);
    Object.keys(textures).forEach(function (key) {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, textures[key].tex);
      gl.uniform1i(where(key), unit++);
    });
    Object.keys(ints || {}).forEach(function (key) { gl.uniform1i(where(key), ints[key]); });
    Object.keys(floats || {}).forEach(function (key) { gl.uniform1f(where(key), floats[key]); });
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    if (profile) {  // wait for this pass: read one texel back
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, new Float32Array(4));
      profile[name] = (profile[name] || 0) + (now() - t0) / 1000;
    }
    return out;
  }

  // ---- layers, on textures (the names and arguments of draw-engine.js's) -------------------------
  function conv3(x, W, B, stride) {
    var s = stride || 1, oh = s === 1 ? x.h : Math.floor((x.h - 1) / 2) + 1, ow = s === 1 ? x.w : Math.floor((x.w - 1) / 2) + 1;
    return run("conv3", take(W.shape[0], oh, ow), { X: x, W: weight(W), B: bias(B, W.shape[0]) },
      { inW: x.w, inH: x.h, inRows: x.rows, outW: ow, stride: s });
  }
  function conv1(x, W, B) {
    return run("matmul", take(W.shape[0], x.h, x.w), { X: x, W: weight(W), B: bias(B, W.shape[0]) }, { inRows: x.rows });
  }
  function groupNorm(x, groups, G, B, eps, silu) {
    var per = x.c / groups, stats = run("groupStats", take(4, 1, groups), { X: x }, { n: x.n, per: per }, { eps: eps });
    return run("groupNorm", take(x.c, x.h, x.w), { X: x, S: stats, G: vector(G, x.c), B: vector(B, x.c) },
      { per: per, channels: x.c, silu: silu ? 1 : 0 });
  }
  function layerNorm(x, G, B, eps) {
    if (x.c % 4) throw new Error("layer norm over " + x.c + " channels");
    return run("layerNorm", take(x.c, x.h, x.w), { X: x, G: vector(G, x.c), B: vector(B, x.c) }, { rows: x.rows }, { eps: eps });
  }
  function attention(q, k, v, heads) {
    var hd = q.c / heads;
    if (hd % 4) throw new Error("attention heads of " + hd + " channels");
    var s = run("scores", take(4 * heads * q.n, 1, k.n), { Q: q, K: k }, { nq: q.n, headRows: hd / 4 }, { scale: 1 / Math.sqrt(hd) });
    return run("attend", take(q.c, q.h, q.w), { S: s, V: v }, { nq: q.n, nk: k.n, headRows: hd / 4 });
  }
  function geglu(g) { return run("geglu", take(g.c / 2, g.h, g.w), { X: g }, { gateRows: g.rows / 2 }); }
  function add(a, b) { return run("add", take(a.c, a.h, a.w), { A: a, B: b }, { wide: b.n === a.n ? 1 : 0 }); }
  function cat(a, b) {
    if (a.c % 4) throw new Error("concatenating after " + a.c + " channels");
    return run("concat", take(a.c + b.c, a.h, a.w), { A: a, B: b }, { rowsA: a.rows });
  }
  function upsample(x) { return run("upsample", take(x.c, 2 * x.h, 2 * x.w), { X: x }, { inW: x.w, outW: 2 * x.w }); }

  // ---- the UNet and the decoder, as draw-engine.js walks them ------------------------------------
  function named(weights, what) {
    return function (name) {
      if (!weights[name]) throw new Error(what + " weights: no tensor " + name);
      return weights[name];
    };
  }

  var contexts = [];  // the captions' token states on the GPU, the last few (a drawing uses two)
  function context(ctx) {
    for (var i = 0; i < contexts.length; i++) if (contexts[i].ctx === ctx) return contexts[i].t;
    var dim = ctx.hidden.length / ctx.tokens, rows = Math.ceil(dim / 4);
    var t = { c: dim, h: 1, w: ctx.tokens, n: ctx.tokens, rows: rows,
      tex: texture(ctx.tokens, rows, pack(dim, ctx.tokens, function (ch, p) { return ctx.hidden[p * dim + ch]; })) };
    contexts.unshift({ ctx: ctx, t: t });
    if (contexts.length > 4) gl.deleteTexture(contexts.pop().t.tex);
    return t;
  }

  function UNet(weights, config, timeEmbedding) {
    var P = named(weights, "unet"), has = function (name) { return !!weights[name]; };
    var groups = config.norm_num_groups, heads = config.attention_head_dim;

    function resnet(prefix, x, temb) {
      var h = groupNorm(x, groups, P(prefix + ".norm1.weight"), P(prefix + ".norm1.bias"), 1e-5, true);
      h = conv3(h, P(prefix + ".conv1.weight"), P(prefix + ".conv1.bias"));
      h = add(h, conv1(temb, P(prefix + ".time_emb_proj.weight"), P(prefix + ".time_emb_proj.bias")));
      h = groupNorm(h, groups, P(prefix + ".norm2.weight"), P(prefix + ".norm2.bias"), 1e-5, true);
      h = conv3(h, P(prefix + ".conv2.weight"), P(prefix + ".conv2.bias"));
      return add(has(prefix + ".conv_shortcut.weight") ? conv1(x, P(prefix + ".conv_shortcut.weight"), P(prefix + ".conv_shortcut.bias")) : x, h);
    }

    function transformer(prefix, x, ctx) {
      var b = prefix + ".transformer_blocks.0", z, a;
      var r = conv1(groupNorm(x, groups, P(prefix + ".norm.weight"), P(prefix + ".norm.bias"), 1e-6, false),
        P(prefix + ".proj_in.weight"), P(prefix + ".proj_in.bias"));
      z = layerNorm(r, P(b + ".norm1.weight"), P(b + ".norm1.bias"), 1e-5);
      a = attention(conv1(z, P(b + ".attn1.to_q.weight")), conv1(z, P(b + ".attn1.to_k.weight")), conv1(z, P(b + ".attn1.to_v.weight")), heads);
      r = add(r, conv1(a, P(b + ".attn1.to_out.0.weight"), P(b + ".attn1.to_out.0.bias")));
      z = layerNorm(r, P(b + ".norm2.weight"), P(b + ".norm2.bias"), 1e-5);
      a = attention(conv1(z, P(b + ".attn2.to_q.weight")), conv1(ctx, P(b + ".attn2.to_k.weight")), conv1(ctx, P(b + ".attn2.to_v.weight")), heads);
      r = add(r, conv1(a, P(b + ".attn2.to_out.0.weight"), P(b + ".attn2.to_out.0.bias")));
      z = layerNorm(r, P(b + ".norm3.weight"), P(b + ".norm3.bias"), 1e-5);
      a = geglu(conv1(z, P(b + ".ff.net.0.proj.weight"), P(b + ".ff.net.0.proj.bias")));
      r = add(r, conv1(a, P(b + ".ff.net.2.weight"), P(b + ".ff.net.2.bias")));
      return add(conv1(r, P(prefix + ".proj_out.weight"), P(prefix + ".proj_out.bias")), x);
    }

    return function predict(x, t, ctx) {
      var e = timeEmbedding(t, ctx.pooled), temb = upload({ c: e.length, h: 1, w: 1, d: e }), c = context(ctx);
      var types = config.down_block_types, ups = config.up_block_types, i, j, at;
      var h = conv3(upload(x), P("conv_in.weight"), P("conv_in.bias")), skips = [h];
      for (i = 0; i < types.length; i++) {
        at = "down_blocks." + i;
        for (j = 0; j < config.layers_per_block; j++) {
          h = resnet(at + ".resnets." + j, h, temb);
          if (types[i].indexOf("CrossAttn") === 0) h = transformer(at + ".attentions." + j, h, c);
          skips.push(h);
        }
        if (has(at + ".downsamplers.0.conv.weight")) {
          h = conv3(h, P(at + ".downsamplers.0.conv.weight"), P(at + ".downsamplers.0.conv.bias"), 2);
          skips.push(h);
        }
      }
      h = transformer("mid_block.attentions.0", resnet("mid_block.resnets.0", h, temb), c);
      h = resnet("mid_block.resnets.1", h, temb);
      for (i = 0; i < ups.length; i++) {
        at = "up_blocks." + i;
        for (j = 0; j <= config.layers_per_block; j++) {
          h = resnet(at + ".resnets." + j, cat(h, skips.pop()), temb);
          if (ups[i].indexOf("CrossAttn") === 0) h = transformer(at + ".attentions." + j, h, c);
        }
        if (has(at + ".upsamplers.0.conv.weight")) h = conv3(upsample(h), P(at + ".upsamplers.0.conv.weight"), P(at + ".upsamplers.0.conv.bias"));
      }
      h = groupNorm(h, groups, P("conv_norm_out.weight"), P("conv_norm_out.bias"), 1e-5, true);
      var out = readback(conv3(h, P("conv_out.weight"), P("conv_out.bias")));
      endPass();
      return out;
    };
  }

  function Decoder(weights, config) {
    var P = named(weights, "decoder"), groups = config.norm_num_groups, levels = config.block_out_channels.length;
    function resnet(prefix, x) {
      var h = groupNorm(x, groups, P(prefix + ".norm1.weight"), P(prefix + ".norm1.bias"), 1e-6, true);
      h = conv3(h, P(prefix + ".conv1.weight"), P(prefix + ".conv1.bias"));
      h = groupNorm(h, groups, P(prefix + ".norm2.weight"), P(prefix + ".norm2.bias"), 1e-6, true);
      h = conv3(h, P(prefix + ".conv2.weight"), P(prefix + ".conv2.bias"));
      return add(weights[prefix + ".conv_shortcut.weight"] ? conv1(x, P(prefix + ".conv_shortcut.weight"), P(prefix + ".conv_shortcut.bias")) : x, h);
    }
    function selfAttention(prefix, x) {
      var z = groupNorm(x, groups, P(prefix + ".group_norm.weight"), P(prefix + ".group_norm.bias"), 1e-6, false);
      var a = attention(conv1(z, P(prefix + ".to_q.weight"), P(prefix + ".to_q.bias")), conv1(z, P(prefix + ".to_k.weight"), P(prefix + ".to_k.bias")),
        conv1(z, P(prefix + ".to_v.weight"), P(prefix + ".to_v.bias")), 1);
      return add(conv1(a, P(prefix + ".to_out.0.weight"), P(prefix + ".to_out.0.bias")), x);
    }
    return function decode(latents) {
      var z = { c: latents.c, h: latents.h, w: latents.w, d: new Float32Array(latents.d.length) }, i;
      for (i = 0; i < z.d.length; i++) z.d[i] = latents.d[i] / config.scaling_factor + config.shift_factor;
      var h = conv3(conv1(upload(z), P("post_quant_conv.weight"), P("post_quant_conv.bias")), P("decoder.conv_in.weight"), P("decoder.conv_in.bias"));
      h = resnet("decoder.mid_block.resnets.1", selfAttention("decoder.mid_block.attentions.0", resnet("decoder.mid_block.resnets.0", h)));
      for (var b = 0; b < levels; b++) {
        var at = "decoder.up_blocks." + b;
        for (var j = 0; j <= config.layers_per_block; j++) h = resnet(at + ".resnets." + j, h);
        if (weights[at + ".upsamplers.0.conv.weight"]) h = conv3(upsample(h), P(at + ".upsamplers.0.conv.weight"), P(at + ".upsamplers.0.conv.bias"));
      }
      h = groupNorm(h, groups, P("decoder.conv_norm_out.weight"), P("decoder.conv_norm_out.bias"), 1e-6, true);
      var out = readback(conv3(h, P("decoder.conv_out.weight"), P("decoder.conv_out.bias")));
      endPass();
      for (i = 0; i < out.d.length; i++) out.d[i] = Math.min(1, Math.max(0, (out.d[i] + 1) / 2));
      return out;
    };
  }

  // ---- the self-check: first one small convolution (stride 1 and 2, channels not a multiple of
  // 4), then one UNet evaluation (every kind of pass, the real weights), on both engines; a GPU
  // that computes otherwise is not used.
  function agree(what, want, got, tolerance) {
    for (var i = 0, worst = 0; i < want.d.length; i++) worst = Math.max(worst, Math.abs(want.d[i] - got.d[i]));
    if (!(worst <= tolerance)) throw new Error("the GPU's " + what + " differs from the CPU's by " + worst);
  }
  function checkConvolution() {
    var x = { c: 8, h: 5, w: 7, d: engine.randn(280, 1) }, W = { shape: [6, 8, 3, 3], d: engine.randn(432, 2) }, B = { shape: [6], d: engine.randn(16, 3) };
    [1, 2].forEach(function (stride) {
      var got = readback(conv3(upload(x), W, B, stride));
      endPass();
      agree("convolution", engine.conv3(x, W, B, stride), got, 1e-4);
    });
    uploaded.forEach(function (t) { gl.deleteTexture(t.tex); });
    uploaded.clear();
  }
  function checkUNet(gpu, cpu) {
    var shape = model.latentShape, x = { c: shape[0], h: shape[1], w: shape[2], d: engine.randn(shape[0] * shape[1] * shape[2], 0) };
    var ctx = model.caption(0);
    agree("UNet", cpu(x, 500, ctx), gpu(x, 500, ctx), 1e-3);
  }

  // A GPU that fails later (its context lost, say) hands the drawing back to the CPU engine, which
  // redoes the pass; options.strict (the page asked for WebGL) makes that an error instead.
  function orCPU(gpu, cpu) {
    return function (a, b, c) {
      if (model.engine === "webgl") {
        try {
          return gpu(a, b, c);
        } catch (error) {
          if (options.strict) throw error;
          model.engine = "cpu";
          model.why = String(error && error.message || error);
        }
      }
      return cpu(a, b, c);
    };
  }

  checkConvolution();
  var w = model.weights, config = model.config, unet = UNet(w.unet, config.unet, model.unet.timeEmbedding);
  checkUNet(unet, model.unet);
  model.unet = orCPU(unet, model.unet);
  model.decode = orCPU(Decoder(w.decoder, config.autoencoder), model.decode);
  model.engine = "webgl";
  return model;
}
