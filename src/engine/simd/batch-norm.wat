  ;; Batch norm kernels (a fragment of the module in kernels.wat: scripts/build-wasm.ts
  ;; splices it in): training statistics, the affine map and the training-mode gradient.
  ;; Conventions as in kernels.wat.

  ;; Per-channel mean and (biased) variance of an NHWC tensor seen as [cells, channels]:
  ;; batch norm's training statistics. Two passes per block of 4 channels (mean, then the
  ;; mean squared deviation from it, as the cpu backend's moments), summed in f64 so long
  ;; reductions (a batch of 32x32 images is 65,536 cells) lose no precision.
  ;;   x: [cells, channels], channels % 4 === 0   mean, variance: [channels], written
  (func (export "channelMoments")
    (param $x i32) (param $cells i32) (param $channels i32) (param $mean i32) (param $variance i32)
    (local $cellBytes i32) (local $cb i32) (local $p i32) (local $end i32)
    (local $v v128) (local $m v128) (local $lo v128) (local $hi v128) (local $n v128)
    (local.set $cellBytes (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $n (f64x2.splat (f64.convert_i32_u (local.get $cells))))
    (local.set $cb (i32.const 0))
    (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $cb) (local.get $cellBytes)))
      (local.set $end (i32.add (i32.add (local.get $x) (local.get $cb)) (i32.mul (local.get $cells) (local.get $cellBytes))))
      (local.set $lo (v128.const i32x4 0 0 0 0))
      (local.set $hi (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $x) (local.get $cb)))
      (block $sumDone (loop $sum
        (br_if $sumDone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load (local.get $p)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $hi (f64x2.add (local.get $hi) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (local.get $cellBytes)))
        (br $sum)))
      (local.set $m (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
        (f32x4.demote_f64x2_zero (f64x2.div (local.get $lo) (local.get $n)))
        (f32x4.demote_f64x2_zero (f64x2.div (local.get $hi) (local.get $n)))))
      (v128.store (i32.add (local.get $mean) (local.get $cb)) (local.get $m))
      (local.set $lo (v128.const i32x4 0 0 0 0))
      (local.set $hi (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $x) (local.get $cb)))
      (block $varDone (loop $var
        (br_if $varDone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (f32x4.sub (v128.load (local.get $p)) (local.get $m)))
        (local.set $v (f32x4.mul (local.get $v) (local.get $v)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $hi (f64x2.add (local.get $hi) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (local.get $cellBytes)))
        (br $var)))
      (v128.store (i32.add (local.get $variance) (local.get $cb))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $lo) (local.get $n)))
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $hi) (local.get $n)))))
      (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
      (br $blocks)))
  )

  ;; Batch norm's affine map, y = (x - mean[c]) * scale[c] + offset[c], where the caller
  ;; folded gamma / sqrt(variance + epsilon) into scale. Subtracting the mean first keeps
  ;; the precision of inputs whose mean is large against their spread.
  ;;   x, y: [cells, channels], channels % 4 === 0 (y may be x)   mean, scale, offset: [channels]
  (func (export "batchNormAffine")
    (param $x i32) (param $y i32) (param $cells i32) (param $channels i32)
    (param $mean i32) (param $scale i32) (param $offset i32)
    (local $cellBytes i32) (local $c i32) (local $p i32) (local $q i32) (local $end i32)
    (local.set $cellBytes (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $p (local.get $x))
    (local.set $q (local.get $y))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $cells) (local.get $cellBytes))))
    (block $done (loop $cellLoop
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $c (i32.const 0))
      (loop $chan
        (v128.store (i32.add (local.get $q) (local.get $c))
          (f32x4.add
            (f32x4.mul
              (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $c))) (v128.load (i32.add (local.get $mean) (local.get $c))))
              (v128.load (i32.add (local.get $scale) (local.get $c))))
            (v128.load (i32.add (local.get $offset) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $chan (i32.lt_u (local.get $c) (local.get $cellBytes))))
      (local.set $p (i32.add (local.get $p) (local.get $cellBytes)))
      (local.set $q (i32.add (local.get $q) (local.get $cellBytes)))
      (br $cellLoop)))
  )

  ;; Gradient of training-mode batch norm, y = (x - mean) * rstd * gamma + beta with mean
  ;; and rstd = 1 / sqrt(variance + epsilon) taken over the cells, in two passes per block
  ;; of 4 channels: sums (f64) of dy and dy * (x - mean), then
  ;;   dgamma = sum(dy * (x - mean)) * rstd     dbeta = sum(dy)
  ;;   dx = gamma * rstd * (dy - sum(dy) / n - (x - mean) * rstd^2 * sum(dy * (x - mean)) / n)
  ;; (the gradient through the batch statistics included).
  ;;   x, dy, dx: [cells, channels], channels % 4 === 0
  ;;   mean, rstd, gamma: [channels]   dgamma, dbeta: [channels], written
  (func (export "batchNormBackward")
    (param $x i32) (param $dy i32) (param $dx i32) (param $cells i32) (param $channels i32)
    (param $mean i32) (param $rstd i32) (param $gamma i32) (param $dgamma i32) (param $dbeta i32)
    (local $cellBytes i32) (local $cb i32) (local $off i32) (local $end i32)
    (local $m v128) (local $r v128) (local $g v128) (local $d v128) (local $v v128)
    (local $s0 v128) (local $s1 v128) (local $t0 v128) (local $t1 v128) (local $n v128)
    (local $sdy v128) (local $sdx v128) (local $k1 v128) (local $k2 v128) (local $k3 v128)
    (local.set $cellBytes (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $n (f64x2.splat (f64.convert_i32_u (local.get $cells))))
    (local.set $end (i32.mul (local.get $cells) (local.get $cellBytes)))
    (local.set $cb (i32.const 0))
    (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $cb) (local.get $cellBytes)))
      (local.set $m (v128.load (i32.add (local.get $mean) (local.get $cb))))
      (local.set $r (v128.load (i32.add (local.get $rstd) (local.get $cb))))
      (local.set $g (v128.load (i32.add (local.get $gamma) (local.get $cb))))
      (local.set $s0 (v128.const i32x4 0 0 0 0))
      (local.set $s1 (v128.const i32x4 0 0 0 0))
      (local.set $t0 (v128.const i32x4 0 0 0 0))
      (local.set $t1 (v128.const i32x4 0 0 0 0))
      (local.set $off (local.get $cb))
      (block $sumDone (loop $sum
        (br_if $sumDone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $d (v128.load (i32.add (local.get $dy) (local.get $off))))
        (local.set $v (f32x4.mul (local.get $d)
          (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $off))) (local.get $m))))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (local.get $d))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
        (local.set $t0 (f64x2.add (local.get $t0) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $t1 (f64x2.add (local.get $t1) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $off (i32.add (local.get $off) (local.get $cellBytes)))
        (br $sum)))
      (local.set $sdy (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
        (f32x4.demote_f64x2_zero (local.get $s0)) (f32x4.demote_f64x2_zero (local.get $s1))))
      (local.set $sdx (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
        (f32x4.demote_f64x2_zero (local.get $t0)) (f32x4.demote_f64x2_zero (local.get $t1))))
      (v128.store (i32.add (local.get $dbeta) (local.get $cb)) (local.get $sdy))
      (v128.store (i32.add (local.get $dgamma) (local.get $cb)) (f32x4.mul (local.get $sdx) (local.get $r)))
      ;; dx = k1 * (dy - k2 - (x - mean) * k3)
      (local.set $k1 (f32x4.mul (local.get $g) (local.get $r)))
      (local.set $k2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
        (f32x4.demote_f64x2_zero (f64x2.div (local.get $s0) (local.get $n)))
        (f32x4.demote_f64x2_zero (f64x2.div (local.get $s1) (local.get $n)))))
      (local.set $k3 (f32x4.mul (f32x4.mul (local.get $r) (local.get $r))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $t0) (local.get $n)))
          (f32x4.demote_f64x2_zero (f64x2.div (local.get $t1) (local.get $n))))))
      (local.set $off (local.get $cb))
      (block $dxDone (loop $dxLoop
        (br_if $dxDone (i32.ge_u (local.get $off) (local.get $end)))
        (v128.store (i32.add (local.get $dx) (local.get $off))
          (f32x4.mul (local.get $k1)
            (f32x4.sub
              (f32x4.sub (v128.load (i32.add (local.get $dy) (local.get $off))) (local.get $k2))
              (f32x4.mul (local.get $k3)
                (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $off))) (local.get $m))))))
        (local.set $off (i32.add (local.get $off) (local.get $cellBytes)))
        (br $dxLoop)))
      (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
      (br $blocks)))
  )
