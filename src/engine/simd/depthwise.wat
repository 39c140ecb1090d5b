  ;; Depthwise convolution gradients, channel multiplier 1 (a fragment of the module in
  ;; kernels.wat: scripts/build-wasm.ts splices it in). NHWC with channels innermost, so
  ;; every inner loop walks four channels per instruction through contiguous memory.
  ;; Any stride, padding and dilation; channels % 4 === 0.
  ;;   x, dx: [batch, height, width, channels]   dy: [batch, outHeight, outWidth, channels]
  ;;   filter, dw: [filterHeight, filterWidth, channels, 1]

  ;; Input gradient, scattered: dx is zeroed, then each dy cell adds dy * filter[tap]
  ;; onto the input cell each tap read, skipping padding.
  (func (export "depthwiseBackpropInput")
    (param $dy i32) (param $filter i32) (param $dx i32)
    (param $batch i32) (param $height i32) (param $width i32) (param $channels i32)
    (param $outHeight i32) (param $outWidth i32) (param $filterHeight i32) (param $filterWidth i32)
    (param $strideHeight i32) (param $strideWidth i32) (param $dilationHeight i32) (param $dilationWidth i32)
    (param $padTop i32) (param $padLeft i32)
    (local $cellBytes i32) (local $b i32) (local $oh i32) (local $ow i32) (local $kh i32) (local $kw i32)
    (local $ih i32) (local $iw i32) (local $c i32) (local $pdy i32) (local $row i32) (local $dst i32) (local $pw i32)
    (local.set $cellBytes (i32.shl (local.get $channels) (i32.const 2)))
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.mul (i32.mul (local.get $batch) (i32.mul (local.get $height) (local.get $width))) (local.get $cellBytes)))
    (local.set $pdy (local.get $dy))
    (local.set $b (i32.const 0))
    (block $batchDone (loop $batchLoop
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oh (i32.const 0))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $oh) (local.get $outHeight)))
        (local.set $ow (i32.const 0))
        (block $colsDone (loop $colLoop
          (br_if $colsDone (i32.ge_u (local.get $ow) (local.get $outWidth)))
          (local.set $kh (i32.const 0))
          (block $tapRowsDone (loop $tapRowLoop
            (br_if $tapRowsDone (i32.ge_u (local.get $kh) (local.get $filterHeight)))
            (local.set $ih (i32.add
              (i32.sub (i32.mul (local.get $oh) (local.get $strideHeight)) (local.get $padTop))
              (i32.mul (local.get $kh) (local.get $dilationHeight))))
            ;; unsigned compare: a negative ih wraps to a huge value and is skipped too
            (if (i32.lt_u (local.get $ih) (local.get $height)) (then
              (local.set $row (i32.add (local.get $dx)
                (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $height)) (local.get $ih)) (local.get $width))
                  (local.get $cellBytes))))
              (local.set $kw (i32.const 0))
              (block $tapsDone (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $kw) (local.get $filterWidth)))
                (local.set $iw (i32.add
                  (i32.sub (i32.mul (local.get $ow) (local.get $strideWidth)) (local.get $padLeft))
                  (i32.mul (local.get $kw) (local.get $dilationWidth))))
                (if (i32.lt_u (local.get $iw) (local.get $width)) (then
                  (local.set $dst (i32.add (local.get $row) (i32.mul (local.get $iw) (local.get $cellBytes))))
                  (local.set $pw (i32.add (local.get $filter)
                    (i32.mul (i32.add (i32.mul (local.get $kh) (local.get $filterWidth)) (local.get $kw)) (local.get $cellBytes))))
                  (local.set $c (i32.const 0))
                  (loop $chanLoop
                    (v128.store (i32.add (local.get $dst) (local.get $c))
                      (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $c)))
                        (f32x4.mul (v128.load (i32.add (local.get $pdy) (local.get $c)))
                          (v128.load (i32.add (local.get $pw) (local.get $c))))))
                    (local.set $c (i32.add (local.get $c) (i32.const 16)))
                    (br_if $chanLoop (i32.lt_u (local.get $c) (local.get $cellBytes))))))
                (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
                (br $tapLoop)))))
            (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
            (br $tapRowLoop)))
          (local.set $pdy (i32.add (local.get $pdy) (local.get $cellBytes)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $colLoop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $rowLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $batchLoop)))
  )

  ;; Filter gradient over the images [b0, b1): dw[tap, c] = sum over the output cells of
  ;; x[cell's input at tap, c] * dy[cell, c], written outright (the caller sums chunks of
  ;; images in f64, so f32 sums stay one image long). Per tap, a block of 16 channels (4
  ;; when fewer are left) keeps its sums in registers over all cells: dy and x are read
  ;; once per tap, and no partial sum goes through memory.
  (func (export "depthwiseBackpropFilter")
    (param $x i32) (param $dy i32) (param $dw i32) (param $b0 i32) (param $b1 i32)
    (param $height i32) (param $width i32) (param $channels i32)
    (param $outHeight i32) (param $outWidth i32) (param $filterHeight i32) (param $filterWidth i32)
    (param $strideHeight i32) (param $strideWidth i32) (param $dilationHeight i32) (param $dilationWidth i32)
    (param $padTop i32) (param $padLeft i32)
    (local $cellBytes i32) (local $cb i32) (local $wide i32) (local $b i32) (local $oh i32) (local $ow i32)
    (local $kh i32) (local $kw i32) (local $ih i32) (local $iw i32)
    (local $xRow i32) (local $pdy i32) (local $px i32) (local $pout i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $cellBytes (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $pout (local.get $dw))
    (local.set $kh (i32.const 0))
    (block $tapRowsDone (loop $tapRowLoop
      (br_if $tapRowsDone (i32.ge_u (local.get $kh) (local.get $filterHeight)))
      (local.set $kw (i32.const 0))
      (block $tapsDone (loop $tapLoop
        (br_if $tapsDone (i32.ge_u (local.get $kw) (local.get $filterWidth)))
        (local.set $cb (i32.const 0))
        (block $chanDone (loop $chanLoop
          (br_if $chanDone (i32.ge_u (local.get $cb) (local.get $cellBytes)))
          (local.set $wide (i32.le_u (i32.add (local.get $cb) (i32.const 64)) (local.get $cellBytes)))
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $a2 (v128.const i32x4 0 0 0 0))
          (local.set $a3 (v128.const i32x4 0 0 0 0))
          (local.set $b (local.get $b0))
          (block $batchDone (loop $batchLoop
            (br_if $batchDone (i32.ge_u (local.get $b) (local.get $b1)))
            (local.set $oh (i32.const 0))
            (block $rowsDone (loop $rowLoop
              (br_if $rowsDone (i32.ge_u (local.get $oh) (local.get $outHeight)))
              (local.set $ih (i32.add
                (i32.sub (i32.mul (local.get $oh) (local.get $strideHeight)) (local.get $padTop))
                (i32.mul (local.get $kh) (local.get $dilationHeight))))
              (if (i32.lt_u (local.get $ih) (local.get $height)) (then
                (local.set $xRow (i32.add (i32.add (local.get $x) (local.get $cb))
                  (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $height)) (local.get $ih)) (local.get $width))
                    (local.get $cellBytes))))
                (local.set $pdy (i32.add (i32.add (local.get $dy) (local.get $cb))
                  (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $outHeight)) (local.get $oh)) (local.get $outWidth))
                    (local.get $cellBytes))))
                (local.set $ow (i32.const 0))
                (block $colsDone (loop $colLoop
                  (br_if $colsDone (i32.ge_u (local.get $ow) (local.get $outWidth)))
                  (local.set $iw (i32.add
                    (i32.sub (i32.mul (local.get $ow) (local.get $strideWidth)) (local.get $padLeft))
                    (i32.mul (local.get $kw) (local.get $dilationWidth))))
                  (if (i32.lt_u (local.get $iw) (local.get $width)) (then
                    (local.set $px (i32.add (local.get $xRow) (i32.mul (local.get $iw) (local.get $cellBytes))))
                    (local.set $a0 (f32x4.add (local.get $a0)
                      (f32x4.mul (v128.load (local.get $px)) (v128.load (local.get $pdy)))))
                    (if (local.get $wide) (then
                      (local.set $a1 (f32x4.add (local.get $a1)
                        (f32x4.mul (v128.load offset=16 (local.get $px)) (v128.load offset=16 (local.get $pdy)))))
                      (local.set $a2 (f32x4.add (local.get $a2)
                        (f32x4.mul (v128.load offset=32 (local.get $px)) (v128.load offset=32 (local.get $pdy)))))
                      (local.set $a3 (f32x4.add (local.get $a3)
                        (f32x4.mul (v128.load offset=48 (local.get $px)) (v128.load offset=48 (local.get $pdy)))))))))
                  (local.set $pdy (i32.add (local.get $pdy) (local.get $cellBytes)))
                  (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                  (br $colLoop)))))
              (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
              (br $rowLoop)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $batchLoop)))
          (v128.store (i32.add (local.get $pout) (local.get $cb)) (local.get $a0))
          (if (local.get $wide)
            (then
              (v128.store offset=16 (i32.add (local.get $pout) (local.get $cb)) (local.get $a1))
              (v128.store offset=32 (i32.add (local.get $pout) (local.get $cb)) (local.get $a2))
              (v128.store offset=48 (i32.add (local.get $pout) (local.get $cb)) (local.get $a3))
              (local.set $cb (i32.add (local.get $cb) (i32.const 64))))
            (else (local.set $cb (i32.add (local.get $cb) (i32.const 16)))))
          (br $chanLoop)))
        (local.set $pout (i32.add (local.get $pout) (local.get $cellBytes)))
        (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
        (br $tapLoop)))
      (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
      (br $tapRowLoop)))
  )
