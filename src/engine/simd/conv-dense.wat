  ;; Dense convolution kernels (a fragment of the module in kernels.wat: scripts/build-wasm.ts
  ;; splices it in): the register-blocked filter gradient, the direct forward convolution
  ;; and col2im. Conventions as in kernels.wat.

  ;; First output index o whose input index o * stride + k - pad is >= 0 (a filter tap
  ;; k that hangs over the leading padding skips the first outputs).
  (func $firstInside (param $k i32) (param $pad i32) (param $stride i32) (result i32)
    (local $d i32)
    (local.set $d (i32.sub (local.get $pad) (local.get $k)))
    (if (result i32) (i32.le_s (local.get $d) (i32.const 0))
      (then (i32.const 0))
      (else (i32.div_u (i32.add (local.get $d) (i32.sub (local.get $stride) (i32.const 1))) (local.get $stride)))))
  ;; One past the last output index o < count whose input index o * stride + k - pad is
  ;; < size; 0 when there is none.
  (func $endInside (param $k i32) (param $pad i32) (param $stride i32) (param $size i32) (param $count i32) (result i32)
    (local $d i32) (local $e i32)
    (local.set $d (i32.add (i32.sub (i32.sub (local.get $size) (i32.const 1)) (local.get $k)) (local.get $pad)))
    (if (result i32) (i32.lt_s (local.get $d) (i32.const 0))
      (then (i32.const 0))
      (else
        (local.set $e (i32.add (i32.div_u (local.get $d) (local.get $stride)) (i32.const 1)))
        (select (local.get $e) (local.get $count) (i32.lt_u (local.get $e) (local.get $count))))))

  ;; Gradient of a dense convolution with respect to its filter, for any stride and
  ;; padding, without an im2col buffer:
  ;;   dw[kh, kw, ci, co] = sum over (b, oh, ow) of x[b, oh*sh + kh - pt, ow*sw + kw - pl, ci] * dy[b, oh, ow, co]
  ;; Register-blocked: for one filter tap, a block of 4 input channels x 8 output channels
  ;; (eight v128 accumulators) runs over every output cell of a tile of `tileRows` output
  ;; rows of one image, then is added back into dw. The tile's dy and x rows stay in cache
  ;; while all taps and channel blocks pass over them. The valid output range of each tap
  ;; is computed up front, so the inner loop has no bounds checks.
  ;;   x:  [batch, height, width, inChannels], inChannels % 4 === 0
  ;;   dy: [batch, outHeight, outWidth, outChannels], outChannels % 8 === 0
  ;;   dw: [filterHeight, filterWidth, inChannels, outChannels], zeroed here
  (func (export "conv2dBackpropFilterDense")
    (param $x i32) (param $dy i32) (param $dw i32)
    (param $batch i32) (param $height i32) (param $width i32) (param $inChannels i32)
    (param $outHeight i32) (param $outWidth i32) (param $outChannels i32)
    (param $filterHeight i32) (param $filterWidth i32)
    (param $strideHeight i32) (param $strideWidth i32) (param $padTop i32) (param $padLeft i32)
    (param $tileRows i32)
    (local $inCellBytes i32) (local $outCellBytes i32) (local $xRowBytes i32) (local $dyRowBytes i32) (local $xStep i32)
    (local $b i32) (local $oh0 i32) (local $oh1 i32) (local $kh i32) (local $kw i32)
    (local $ohS i32) (local $ohE i32) (local $owS i32) (local $owE i32)
    (local $ciB i32) (local $coB i32) (local $oh i32) (local $n i32)
    (local $ptap i32) (local $pw i32) (local $px i32) (local $pdy i32) (local $pxEnd i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $d0 v128) (local $d1 v128) (local $s v128)
    (local.set $inCellBytes (i32.shl (local.get $inChannels) (i32.const 2)))
    (local.set $outCellBytes (i32.shl (local.get $outChannels) (i32.const 2)))
    (local.set $xRowBytes (i32.mul (local.get $width) (local.get $inCellBytes)))
    (local.set $dyRowBytes (i32.mul (local.get $outWidth) (local.get $outCellBytes)))
    (local.set $xStep (i32.mul (local.get $strideWidth) (local.get $inCellBytes)))
    (memory.fill (local.get $dw) (i32.const 0)
      (i32.mul (i32.mul (i32.mul (local.get $filterHeight) (local.get $filterWidth)) (local.get $inChannels))
        (local.get $outCellBytes)))
    (local.set $b (i32.const 0))
    (block $batchDone (loop $batchLoop
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oh0 (i32.const 0))
      (block $tilesDone (loop $tileLoop
        (br_if $tilesDone (i32.ge_u (local.get $oh0) (local.get $outHeight)))
        (local.set $oh1 (i32.add (local.get $oh0) (local.get $tileRows)))
        (if (i32.gt_u (local.get $oh1) (local.get $outHeight)) (then (local.set $oh1 (local.get $outHeight))))
        (local.set $kh (i32.const 0))
        (block $tapRowsDone (loop $tapRowLoop
          (br_if $tapRowsDone (i32.ge_u (local.get $kh) (local.get $filterHeight)))
          (local.set $ohS (call $firstInside (local.get $kh) (local.get $padTop) (local.get $strideHeight)))
          (if (i32.lt_u (local.get $ohS) (local.get $oh0)) (then (local.set $ohS (local.get $oh0))))
          (local.set $ohE (call $endInside (local.get $kh) (local.get $padTop) (local.get $strideHeight)
            (local.get $height) (local.get $outHeight)))
          (if (i32.gt_u (local.get $ohE) (local.get $oh1)) (then (local.set $ohE (local.get $oh1))))
          (local.set $kw (i32.const 0))
          (block $tapsDone (loop $tapLoop
            (br_if $tapsDone (i32.ge_u (local.get $kw) (local.get $filterWidth)))
            (local.set $owS (call $firstInside (local.get $kw) (local.get $padLeft) (local.get $strideWidth)))
            (local.set $owE (call $endInside (local.get $kw) (local.get $padLeft) (local.get $strideWidth)
              (local.get $width) (local.get $outWidth)))
            (if (i32.and (i32.lt_u (local.get $ohS) (local.get $ohE)) (i32.lt_u (local.get $owS) (local.get $owE))) (then
              (local.set $n (i32.sub (local.get $owE) (local.get $owS)))
              (local.set $ptap (i32.add (local.get $dw)
                (i32.mul (i32.mul (i32.add (i32.mul (local.get $kh) (local.get $filterWidth)) (local.get $kw))
                  (local.get $inChannels)) (local.get $outCellBytes))))
              (local.set $ciB (i32.const 0))
              (block $ciDone (loop $ciLoop
                (br_if $ciDone (i32.ge_u (local.get $ciB) (local.get $inCellBytes)))
                (local.set $coB (i32.const 0))
                (block $coDone (loop $coLoop
                  (br_if $coDone (i32.ge_u (local.get $coB) (local.get $outCellBytes)))
                  ;; dw rows ci .. ci+3 of this tap, columns co .. co+7
                  (local.set $pw (i32.add (local.get $ptap)
                    (i32.add (i32.mul (local.get $ciB) (local.get $outChannels)) (local.get $coB))))
                  (local.set $a0 (v128.load (local.get $pw)))
                  (local.set $a1 (v128.load offset=16 (local.get $pw)))
                  (local.set $pw (i32.add (local.get $pw) (local.get $outCellBytes)))
                  (local.set $a2 (v128.load (local.get $pw)))
                  (local.set $a3 (v128.load offset=16 (local.get $pw)))
                  (local.set $pw (i32.add (local.get $pw) (local.get $outCellBytes)))
                  (local.set $a4 (v128.load (local.get $pw)))
                  (local.set $a5 (v128.load offset=16 (local.get $pw)))
                  (local.set $pw (i32.add (local.get $pw) (local.get $outCellBytes)))
                  (local.set $a6 (v128.load (local.get $pw)))
                  (local.set $a7 (v128.load offset=16 (local.get $pw)))
                  (local.set $oh (local.get $ohS))
                  (block $ohDone (loop $ohLoop
                    (br_if $ohDone (i32.ge_u (local.get $oh) (local.get $ohE)))
                    (local.set $px (i32.add (local.get $x) (i32.add
                      (i32.mul
                        (i32.sub (i32.add (i32.mul (local.get $b) (local.get $height))
                          (i32.add (i32.mul (local.get $oh) (local.get $strideHeight)) (local.get $kh))) (local.get $padTop))
                        (local.get $xRowBytes))
                      (i32.add
                        (i32.mul
                          (i32.sub (i32.add (i32.mul (local.get $owS) (local.get $strideWidth)) (local.get $kw)) (local.get $padLeft))
                          (local.get $inCellBytes))
                        (local.get $ciB)))))
                    (local.set $pdy (i32.add (local.get $dy) (i32.add
                      (i32.mul (i32.add (i32.mul (local.get $b) (local.get $outHeight)) (local.get $oh)) (local.get $dyRowBytes))
                      (i32.add (i32.mul (local.get $owS) (local.get $outCellBytes)) (local.get $coB)))))
                    (local.set $pxEnd (i32.add (local.get $px) (i32.mul (local.get $n) (local.get $xStep))))
                    (loop $owLoop
                      (local.set $d0 (v128.load (local.get $pdy)))
                      (local.set $d1 (v128.load offset=16 (local.get $pdy)))
                      (local.set $s (v128.load32_splat (local.get $px)))
                      (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d0))))
                      (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d1))))
                      (local.set $s (v128.load32_splat offset=4 (local.get $px)))
                      (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $d0))))
                      (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $d1))))
                      (local.set $s (v128.load32_splat offset=8 (local.get $px)))
                      (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $s) (local.get $d0))))
                      (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $s) (local.get $d1))))
                      (local.set $s (v128.load32_splat offset=12 (local.get $px)))
                      (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $s) (local.get $d0))))
                      (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $s) (local.get $d1))))
                      (local.set $px (i32.add (local.get $px) (local.get $xStep)))
                      (local.set $pdy (i32.add (local.get $pdy) (local.get $outCellBytes)))
                      (br_if $owLoop (i32.lt_u (local.get $px) (local.get $pxEnd))))
                    (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
                    (br $ohLoop)))
                  (local.set $pw (i32.add (local.get $ptap)
                    (i32.add (i32.mul (local.get $ciB) (local.get $outChannels)) (local.get $coB))))
                  (v128.store (local.get $pw) (local.get $a0))
                  (v128.store offset=16 (local.get $pw) (local.get $a1))
                  (local.set $pw (i32.add (local.get $pw) (local.get $outCellBytes)))
                  (v128.store (local.get $pw) (local.get $a2))
                  (v128.store offset=16 (local.get $pw) (local.get $a3))
                  (local.set $pw (i32.add (local.get $pw) (local.get $outCellBytes)))
                  (v128.store (local.get $pw) (local.get $a4))
                  (v128.store offset=16 (local.get $pw) (local.get $a5))
                  (local.set $pw (i32.add (local.get $pw) (local.get $outCellBytes)))
                  (v128.store (local.get $pw) (local.get $a6))
                  (v128.store offset=16 (local.get $pw) (local.get $a7))
                  (local.set $coB (i32.add (local.get $coB) (i32.const 32)))
                  (br $coLoop)))
                (local.set $ciB (i32.add (local.get $ciB) (i32.const 16)))
                (br $ciLoop)))))
            (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
            (br $tapLoop)))
          (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
          (br $tapRowLoop)))
        (local.set $oh0 (local.get $oh1))
        (br $tileLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $batchLoop)))
  )

  ;; A dense convolution on an input already padded (valid convolution, any stride): each
  ;; block of 4 neighbouring output cells of a row x 8 output channels is eight v128
  ;; accumulators, filled over the window; a window row's taps and channels are contiguous
  ;; in both the input and the filter, so the inner loop walks one run of KW * Cin floats.
  ;;   x: [batch, height, width, inChannels] (padded)   filter: [filterHeight, filterWidth, inChannels, outChannels]
  ;;   y: [batch, outHeight, outWidth, outChannels], written; outWidth % 4 === 0, outChannels % 8 === 0
  (func (export "conv2dForwardDense")
    (param $x i32) (param $filter i32) (param $y i32)
    (param $batch i32) (param $height i32) (param $width i32) (param $inChannels i32)
    (param $outHeight i32) (param $outWidth i32) (param $outChannels i32)
    (param $filterHeight i32) (param $filterWidth i32) (param $strideHeight i32) (param $strideWidth i32)
    (local $inCellBytes i32) (local $outCellBytes i32) (local $xRowBytes i32) (local $cellStep i32) (local $run i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $coB i32) (local $kh i32)
    (local $rowBase i32) (local $px i32) (local $pxEnd i32) (local $pw i32) (local $py i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $w0 v128) (local $w1 v128) (local $s v128)
    (local.set $inCellBytes (i32.shl (local.get $inChannels) (i32.const 2)))
    (local.set $outCellBytes (i32.shl (local.get $outChannels) (i32.const 2)))
    (local.set $xRowBytes (i32.mul (local.get $width) (local.get $inCellBytes)))
    (local.set $cellStep (i32.mul (local.get $strideWidth) (local.get $inCellBytes)))
    (local.set $run (i32.mul (local.get $filterWidth) (local.get $inCellBytes)))
    (local.set $py (local.get $y))
    (local.set $b (i32.const 0))
    (block $batchDone (loop $batchLoop
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oh (i32.const 0))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $oh) (local.get $outHeight)))
        (local.set $ow (i32.const 0))
        (block $colsDone (loop $colLoop
          (br_if $colsDone (i32.ge_u (local.get $ow) (local.get $outWidth)))
          (local.set $coB (i32.const 0))
          (block $coDone (loop $coLoop
            (br_if $coDone (i32.ge_u (local.get $coB) (local.get $outCellBytes)))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $a4 (v128.const i32x4 0 0 0 0))
            (local.set $a5 (v128.const i32x4 0 0 0 0))
            (local.set $a6 (v128.const i32x4 0 0 0 0))
            (local.set $a7 (v128.const i32x4 0 0 0 0))
            (local.set $pw (i32.add (local.get $filter) (local.get $coB)))
            (local.set $kh (i32.const 0))
            (block $tapRowsDone (loop $tapRowLoop
              (br_if $tapRowsDone (i32.ge_u (local.get $kh) (local.get $filterHeight)))
              ;; window row kh of the first cell of the block
              (local.set $px (i32.add (local.get $x) (i32.add
                (i32.mul
                  (i32.add (i32.mul (local.get $b) (local.get $height))
                    (i32.add (i32.mul (local.get $oh) (local.get $strideHeight)) (local.get $kh)))
                  (local.get $xRowBytes))
                (i32.mul (local.get $ow) (local.get $cellStep)))))
              (local.set $pxEnd (i32.add (local.get $px) (local.get $run)))
              (loop $tapLoop
                (local.set $w0 (v128.load (local.get $pw)))
                (local.set $w1 (v128.load offset=16 (local.get $pw)))
                (local.set $s (v128.load32_splat (local.get $px)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $px) (local.get $cellStep))))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $px) (i32.shl (local.get $cellStep) (i32.const 1)))))
                (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $px) (i32.mul (local.get $cellStep) (i32.const 3)))))
                (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $pw (i32.add (local.get $pw) (local.get $outCellBytes)))
                (local.set $px (i32.add (local.get $px) (i32.const 4)))
                (br_if $tapLoop (i32.lt_u (local.get $px) (local.get $pxEnd))))
              (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
              (br $tapRowLoop)))
            (local.set $px (i32.add (local.get $py) (local.get $coB)))
            (v128.store (local.get $px) (local.get $a0))
            (v128.store offset=16 (local.get $px) (local.get $a1))
            (local.set $px (i32.add (local.get $px) (local.get $outCellBytes)))
            (v128.store (local.get $px) (local.get $a2))
            (v128.store offset=16 (local.get $px) (local.get $a3))
            (local.set $px (i32.add (local.get $px) (local.get $outCellBytes)))
            (v128.store (local.get $px) (local.get $a4))
            (v128.store offset=16 (local.get $px) (local.get $a5))
            (local.set $px (i32.add (local.get $px) (local.get $outCellBytes)))
            (v128.store (local.get $px) (local.get $a6))
            (v128.store offset=16 (local.get $px) (local.get $a7))
            (local.set $coB (i32.add (local.get $coB) (i32.const 32)))
            (br $coLoop)))
          (local.set $py (i32.add (local.get $py) (i32.shl (local.get $outCellBytes) (i32.const 2))))
          (local.set $ow (i32.add (local.get $ow) (i32.const 4)))
          (br $colLoop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $rowLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $batchLoop)))
  )

  ;; col2im for the matmul route of the input gradient: adds each row of cols (one output
  ;; cell's [KH, KW, Cin] window of input gradients) onto the input cells the forward
  ;; window read, skipping padding, for the (batch, output row) units [u0, u1). dx is
  ;; zeroed by the caller once, before the first chunk.
  ;;   cols: [(u1 - u0) * outWidth, filterHeight * filterWidth * inChannels]
  ;;   dx: [batch, height, width, inChannels], inChannels % 4 === 0
  (func (export "col2imAdd")
    (param $cols i32) (param $dx i32)
    (param $height i32) (param $width i32) (param $inChannels i32) (param $outHeight i32) (param $outWidth i32)
    (param $filterHeight i32) (param $filterWidth i32)
    (param $strideHeight i32) (param $strideWidth i32) (param $padTop i32) (param $padLeft i32)
    (param $u0 i32) (param $u1 i32)
    (local $cellBytes i32) (local $u i32) (local $b i32) (local $oh i32) (local $ow i32)
    (local $kh i32) (local $kw i32) (local $ih i32) (local $iw i32) (local $c i32)
    (local $src i32) (local $row i32) (local $dst i32)
    (local.set $cellBytes (i32.shl (local.get $inChannels) (i32.const 2)))
    (local.set $src (local.get $cols))
    (local.set $u (local.get $u0))
    (block $unitsDone (loop $unitLoop
      (br_if $unitsDone (i32.ge_u (local.get $u) (local.get $u1)))
      (local.set $b (i32.div_u (local.get $u) (local.get $outHeight)))
      (local.set $oh (i32.sub (local.get $u) (i32.mul (local.get $b) (local.get $outHeight))))
      (local.set $ow (i32.const 0))
      (block $colsDone (loop $colLoop
        (br_if $colsDone (i32.ge_u (local.get $ow) (local.get $outWidth)))
        (local.set $kh (i32.const 0))
        (block $tapRowsDone (loop $tapRowLoop
          (br_if $tapRowsDone (i32.ge_u (local.get $kh) (local.get $filterHeight)))
          (local.set $ih (i32.sub (i32.add (i32.mul (local.get $oh) (local.get $strideHeight)) (local.get $kh)) (local.get $padTop)))
          (if (i32.lt_u (local.get $ih) (local.get $height))
            (then
              (local.set $row (i32.add (local.get $dx)
                (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $height)) (local.get $ih)) (local.get $width))
                  (local.get $cellBytes))))
              (local.set $kw (i32.const 0))
              (block $tapsDone (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $kw) (local.get $filterWidth)))
                (local.set $iw (i32.sub (i32.add (i32.mul (local.get $ow) (local.get $strideWidth)) (local.get $kw)) (local.get $padLeft)))
                (if (i32.lt_u (local.get $iw) (local.get $width)) (then
                  (local.set $dst (i32.add (local.get $row) (i32.mul (local.get $iw) (local.get $cellBytes))))
                  (local.set $c (i32.const 0))
                  (loop $chanLoop
                    (v128.store (i32.add (local.get $dst) (local.get $c))
                      (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $c)))
                        (v128.load (i32.add (local.get $src) (local.get $c)))))
                    (local.set $c (i32.add (local.get $c) (i32.const 16)))
                    (br_if $chanLoop (i32.lt_u (local.get $c) (local.get $cellBytes))))))
                (local.set $src (i32.add (local.get $src) (local.get $cellBytes)))
                (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
                (br $tapLoop))))
            (else
              (local.set $src (i32.add (local.get $src) (i32.mul (local.get $filterWidth) (local.get $cellBytes))))))
          (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
          (br $tapRowLoop)))
        (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
        (br $colLoop)))
      (local.set $u (i32.add (local.get $u) (i32.const 1)))
      (br $unitLoop)))
  )
