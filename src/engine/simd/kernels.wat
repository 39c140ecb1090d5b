;; Rampart's hand-written WebAssembly SIMD kernels. They run on the TF.js wasm backend's
;; own memory (imported as env.memory), so they read and write tensors in place: every
;; pointer below is a byte offset of a tensor in that heap.
;;
;; This file is the module's frame and its pooling / sparse / one-channel kernels; the other
;; kernel families are fragments beside it (conv-dense.wat, batch-norm.wat, depthwise.wat),
;; spliced in before the closing parenthesis below. Assembled by `npm run build:wasm`
;; (scripts/build-wasm.ts) into kernels-wasm.ts, which is committed; a test checks that the
;; committed binary matches these sources.
;;
;; Conventions: float32 data, NHWC, channel counts a multiple of 4 (one v128 holds four
;; channels); callers check the preconditions and fall back to their JS loops otherwise.
(module
  (import "env" "memory" (memory 1))

  ;; Gradient of 2x2 max pooling with stride 2 and no padding, the pooling of nearly
  ;; every CNN. dx (same shape as x) is zeroed, then each window's dy goes to the first
  ;; strict maximum of the window in row-major order, starting from -Infinity: ties go to
  ;; the first position and NaN or -Infinity never wins, as on the cpu backend. Windows do
  ;; not overlap, so each writes its four cells outright; an odd last row or column
  ;; belongs to no window and stays zero.
  ;;   x:  [batch, height, width, channels]   dy: [batch, outHeight, outWidth, channels]
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $batch i32) (param $height i32) (param $width i32) (param $channels i32)
    (param $outHeight i32) (param $outWidth i32)
    (local $cellBytes i32) (local $rowBytes i32) (local $imageBytes i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $d i32)
    (local $p0 i32) (local $q0 i32) (local $g i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $best v128) (local $c v128) (local $grad v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128)
    (local.set $cellBytes (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $width) (local.get $cellBytes)))
    (local.set $imageBytes (i32.mul (local.get $height) (local.get $rowBytes)))
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.mul (local.get $batch) (local.get $imageBytes)))
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (block $batchDone (loop $batchLoop
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oh (i32.const 0))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $oh) (local.get $outHeight)))
        ;; byte offset of the window's top-left cell, relative to x / dx
        (local.set $p0 (i32.add
          (i32.mul (local.get $b) (local.get $imageBytes))
          (i32.mul (i32.shl (local.get $oh) (i32.const 1)) (local.get $rowBytes))))
        (local.set $ow (i32.const 0))
        (block $colsDone (loop $colLoop
          (br_if $colsDone (i32.ge_u (local.get $ow) (local.get $outWidth)))
          (local.set $d (i32.const 0))
          (block $chanDone (loop $chanLoop
            (br_if $chanDone (i32.ge_u (local.get $d) (local.get $cellBytes)))
            (local.set $q0 (i32.add (local.get $p0) (local.get $d)))
            (local.set $a0 (v128.load (i32.add (local.get $x) (local.get $q0))))
            (local.set $a1 (v128.load (i32.add (local.get $x)
              (i32.add (local.get $q0) (local.get $cellBytes)))))
            (local.set $a2 (v128.load (i32.add (local.get $x)
              (i32.add (local.get $q0) (local.get $rowBytes)))))
            (local.set $a3 (v128.load (i32.add (local.get $x)
              (i32.add (i32.add (local.get $q0) (local.get $rowBytes)) (local.get $cellBytes)))))
            ;; s0: lanes where a0 is a candidate (greater than -Infinity, so not NaN)
            (local.set $s0 (f32x4.gt (local.get $a0) (f32x4.splat (f32.const -inf))))
            (local.set $best (v128.bitselect (local.get $a0) (f32x4.splat (f32.const -inf)) (local.get $s0)))
            (local.set $c (f32x4.gt (local.get $a1) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $a1) (local.get $best) (local.get $c)))
            (local.set $s0 (v128.andnot (local.get $s0) (local.get $c)))
            (local.set $s1 (local.get $c))
            (local.set $c (f32x4.gt (local.get $a2) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $a2) (local.get $best) (local.get $c)))
            (local.set $s0 (v128.andnot (local.get $s0) (local.get $c)))
            (local.set $s1 (v128.andnot (local.get $s1) (local.get $c)))
            (local.set $s2 (local.get $c))
            ;; c now marks lanes whose maximum is a3
            (local.set $c (f32x4.gt (local.get $a3) (local.get $best)))
            (local.set $grad (v128.load (local.get $g)))
            (v128.store (i32.add (local.get $dx) (local.get $q0))
              (v128.and (local.get $grad) (v128.andnot (local.get $s0) (local.get $c))))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $q0) (local.get $cellBytes)))
              (v128.and (local.get $grad) (v128.andnot (local.get $s1) (local.get $c))))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $q0) (local.get $rowBytes)))
              (v128.and (local.get $grad) (v128.andnot (local.get $s2) (local.get $c))))
            (v128.store (i32.add (local.get $dx)
                (i32.add (i32.add (local.get $q0) (local.get $rowBytes)) (local.get $cellBytes)))
              (v128.and (local.get $grad) (local.get $c)))
            (local.set $g (i32.add (local.get $g) (i32.const 16)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br $chanLoop)))
          (local.set $p0 (i32.add (local.get $p0) (i32.shl (local.get $cellBytes) (i32.const 1))))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $colLoop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $rowLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $batchLoop)))
  )
  ;; Gradient of a stride-1 convolution with respect to an input of few channels (the first
  ;; layer on grey or RGB images), gathered: each input cell sums, over the filter taps whose
  ;; output cell exists, the dot product of that output cell's gradient (outChannels
  ;; floats) with the tap's filter row for the input channel. Each cell is written once, so dx needs no zeroing,
  ;; and the dot products run four output channels per instruction.
  ;;   dy: [batch, outHeight, outWidth, outChannels]   filter: [filterHeight, filterWidth, inChannels, outChannels]
  ;;   dx: [batch, height, width, inChannels]
  (func (export "conv2dBackpropInputC1")
    (param $dy i32) (param $filter i32) (param $dx i32)
    (param $batch i32) (param $height i32) (param $width i32) (param $inChannels i32)
    (param $outHeight i32) (param $outWidth i32) (param $outChannels i32)
    (param $filterHeight i32) (param $filterWidth i32) (param $padTop i32) (param $padLeft i32)
    (local $rowBytes i32) (local $cellBytes i32) (local $imageBytes i32)
    (local $b i32) (local $ih i32) (local $iw i32) (local $kh i32) (local $kw i32)
    (local $oh i32) (local $ow i32) (local $c i32) (local $ci i32)
    (local $dyImage i32) (local $dyRow i32) (local $pdy i32) (local $pw i32) (local $out i32)
    (local $acc v128)
    (local.set $cellBytes (i32.shl (local.get $outChannels) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $outWidth) (local.get $cellBytes)))
    (local.set $imageBytes (i32.mul (local.get $outHeight) (local.get $rowBytes)))
    (local.set $out (local.get $dx))
    (local.set $b (i32.const 0))
    (block $batchDone (loop $batchLoop
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $dyImage (i32.add (local.get $dy) (i32.mul (local.get $b) (local.get $imageBytes))))
      (local.set $ih (i32.const 0))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $ih) (local.get $height)))
        (local.set $iw (i32.const 0))
        (block $colsDone (loop $colLoop
          (br_if $colsDone (i32.ge_u (local.get $iw) (local.get $width)))
          (local.set $ci (i32.const 0))
          (loop $inChanLoop
          (local.set $acc (v128.const i32x4 0 0 0 0))
          (local.set $kh (i32.const 0))
          (block $tapRowsDone (loop $tapRowLoop
            (br_if $tapRowsDone (i32.ge_u (local.get $kh) (local.get $filterHeight)))
            (local.set $oh (i32.sub (i32.add (local.get $ih) (local.get $padTop)) (local.get $kh)))
            ;; unsigned compare: a negative oh wraps to a huge value and is skipped too
            (if (i32.lt_u (local.get $oh) (local.get $outHeight)) (then
              (local.set $dyRow (i32.add (local.get $dyImage) (i32.mul (local.get $oh) (local.get $rowBytes))))
              (local.set $kw (i32.const 0))
              (block $tapsDone (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $kw) (local.get $filterWidth)))
                (local.set $ow (i32.sub (i32.add (local.get $iw) (local.get $padLeft)) (local.get $kw)))
                (if (i32.lt_u (local.get $ow) (local.get $outWidth)) (then
                  (local.set $pdy (i32.add (local.get $dyRow) (i32.mul (local.get $ow) (local.get $cellBytes))))
                  (local.set $pw (i32.add (local.get $filter)
                    (i32.mul
                      (i32.add (i32.mul (i32.add (i32.mul (local.get $kh) (local.get $filterWidth)) (local.get $kw)) (local.get $inChannels))
                        (local.get $ci))
                      (local.get $cellBytes))))
                  (local.set $c (i32.const 0))
                  (block $chanDone (loop $chanLoop
                    (br_if $chanDone (i32.ge_u (local.get $c) (local.get $cellBytes)))
                    (local.set $acc (f32x4.add (local.get $acc)
                      (f32x4.mul
                        (v128.load (i32.add (local.get $pdy) (local.get $c)))
                        (v128.load (i32.add (local.get $pw) (local.get $c))))))
                    (local.set $c (i32.add (local.get $c) (i32.const 16)))
                    (br $chanLoop)))))
                (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
                (br $tapLoop)))))
            (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
            (br $tapRowLoop)))
          (f32.store (local.get $out)
            (f32.add
              (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
              (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $ci (i32.add (local.get $ci) (i32.const 1)))
          (br_if $inChanLoop (i32.lt_u (local.get $ci) (local.get $inChannels))))
          (local.set $iw (i32.add (local.get $iw) (i32.const 1)))
          (br $colLoop)))
        (local.set $ih (i32.add (local.get $ih) (i32.const 1)))
        (br $rowLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $batchLoop)))
  )
  ;; Number of non-zero floats among n at ptr (NaN counts as non-zero). Used to decide
  ;; whether a gradient is sparse enough for the scatter kernel below.
  (func (export "countNonZero") (param $ptr i32) (param $n i32) (result i32)
    (local $end i32) (local $vecEnd i32) (local $zeros v128) (local $count i32)
    (local.set $end (i32.add (local.get $ptr) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $vecEnd (i32.add (local.get $ptr) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $zeros (v128.const i32x4 0 0 0 0))
    (block $vecDone (loop $vecLoop
      (br_if $vecDone (i32.ge_u (local.get $ptr) (local.get $vecEnd)))
      ;; f32x4.eq gives -1 per zero lane; subtracting counts the zeros
      (local.set $zeros (i32x4.sub (local.get $zeros)
        (f32x4.eq (v128.load (local.get $ptr)) (v128.const f32x4 0 0 0 0))))
      (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
      (br $vecLoop)))
    (local.set $count (i32.sub (local.get $n)
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $zeros)) (i32x4.extract_lane 1 (local.get $zeros)))
        (i32.add (i32x4.extract_lane 2 (local.get $zeros)) (i32x4.extract_lane 3 (local.get $zeros))))))
    (block $tailDone (loop $tailLoop
      (br_if $tailDone (i32.ge_u (local.get $ptr) (local.get $end)))
      (if (f32.eq (f32.load (local.get $ptr)) (f32.const 0))
        (then (local.set $count (i32.sub (local.get $count) (i32.const 1)))))
      (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
      (br $tailLoop)))
    (local.get $count))

  ;; Both gradients of a convolution, scattered from the non-zero entries of dy only.
  ;; Behind ReLU and max pooling most of dy is zero (a 2x2 pool passes one cell in four),
  ;; and skipping those does a fraction of the dense work. Each non-zero dy[cell, co]
  ;; pairs the input window the cell read with output channel co's taps:
  ;;   toFilter = 0: dx[window] += dy * taps[co]     (taps: the filter, transposed)
  ;;   toFilter = 1: taps[co]   += dy * x[window]    (taps: the filter gradient, transposed)
  ;; four input channels per instruction. The target (dx or the filter gradient) is
  ;; zeroed here. One difference from the dense product: a zero of dy contributes
  ;; nothing even where the other operand is NaN or infinite (dense: 0 * NaN = NaN). A
  ;; non-finite weight or activation makes the loss, and so all of dy, non-finite, which
  ;; the callers' density check sends to the dense route.
  ;;   dy:     [batch, outHeight, outWidth, outChannels]
  ;;   window: dx or x, [batch, height, width, inChannels]
  ;;   taps:   [outChannels, filterHeight, filterWidth, inChannels]
  (func (export "conv2dSparseScatter")
    (param $toFilter i32) (param $dy i32) (param $window i32) (param $taps i32)
    (param $batch i32) (param $height i32) (param $width i32) (param $inChannels i32)
    (param $outHeight i32) (param $outWidth i32) (param $outChannels i32)
    (param $filterHeight i32) (param $filterWidth i32)
    (param $strideHeight i32) (param $strideWidth i32) (param $padTop i32) (param $padLeft i32)
    (local $inCellBytes i32) (local $inImageBytes i32) (local $channelTaps i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $co i32)
    (local $kh i32) (local $kw i32) (local $ih i32) (local $iw i32) (local $c i32)
    (local $pdy i32) (local $image i32) (local $row i32) (local $pwin i32) (local $ptap i32)
    (local $dst i32) (local $src i32) (local $g f32) (local $gv v128)
    (local.set $inCellBytes (i32.shl (local.get $inChannels) (i32.const 2)))
    (local.set $inImageBytes (i32.mul (i32.mul (local.get $height) (local.get $width)) (local.get $inCellBytes)))
    (local.set $channelTaps (i32.mul (i32.mul (local.get $filterHeight) (local.get $filterWidth)) (local.get $inCellBytes)))
    (if (local.get $toFilter)
      (then (memory.fill (local.get $taps) (i32.const 0) (i32.mul (local.get $outChannels) (local.get $channelTaps))))
      (else (memory.fill (local.get $window) (i32.const 0) (i32.mul (local.get $batch) (local.get $inImageBytes)))))
    (local.set $pdy (local.get $dy))
    (local.set $b (i32.const 0))
    (block $batchDone (loop $batchLoop
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $image (i32.add (local.get $window) (i32.mul (local.get $b) (local.get $inImageBytes))))
      (local.set $oh (i32.const 0))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $oh) (local.get $outHeight)))
        (local.set $ow (i32.const 0))
        (block $colsDone (loop $colLoop
          (br_if $colsDone (i32.ge_u (local.get $ow) (local.get $outWidth)))
          (local.set $co (i32.const 0))
          (block $outDone (loop $outLoop
            (br_if $outDone (i32.ge_u (local.get $co) (local.get $outChannels)))
            (local.set $g (f32.load (local.get $pdy)))
            (if (f32.ne (local.get $g) (f32.const 0)) (then
              (local.set $gv (f32x4.splat (local.get $g)))
              (local.set $ptap (i32.add (local.get $taps) (i32.mul (local.get $co) (local.get $channelTaps))))
              (local.set $kh (i32.const 0))
              (block $tapRowsDone (loop $tapRowLoop
                (br_if $tapRowsDone (i32.ge_u (local.get $kh) (local.get $filterHeight)))
                (local.set $ih (i32.sub
                  (i32.add (i32.mul (local.get $oh) (local.get $strideHeight)) (local.get $kh))
                  (local.get $padTop)))
                ;; unsigned compare: a negative index wraps to a huge value and is skipped too
                (if (i32.lt_u (local.get $ih) (local.get $height))
                  (then
                    (local.set $row (i32.add (local.get $image)
                      (i32.mul (i32.mul (local.get $ih) (local.get $width)) (local.get $inCellBytes))))
                    (local.set $kw (i32.const 0))
                    (block $tapsDone (loop $tapLoop
                      (br_if $tapsDone (i32.ge_u (local.get $kw) (local.get $filterWidth)))
                      (local.set $iw (i32.sub
                        (i32.add (i32.mul (local.get $ow) (local.get $strideWidth)) (local.get $kw))
                        (local.get $padLeft)))
                      (if (i32.lt_u (local.get $iw) (local.get $width)) (then
                        (local.set $pwin (i32.add (local.get $row) (i32.mul (local.get $iw) (local.get $inCellBytes))))
                        (local.set $dst (select (local.get $ptap) (local.get $pwin) (local.get $toFilter)))
                        (local.set $src (select (local.get $pwin) (local.get $ptap) (local.get $toFilter)))
                        (local.set $c (i32.const 0))
                        (block $chanDone (loop $chanLoop
                          (br_if $chanDone (i32.ge_u (local.get $c) (local.get $inCellBytes)))
                          (v128.store (i32.add (local.get $dst) (local.get $c))
                            (f32x4.add
                              (v128.load (i32.add (local.get $dst) (local.get $c)))
                              (f32x4.mul (local.get $gv) (v128.load (i32.add (local.get $src) (local.get $c))))))
                          (local.set $c (i32.add (local.get $c) (i32.const 16)))
                          (br $chanLoop)))))
                      ;; the taps are contiguous: step to the next one either way
                      (local.set $ptap (i32.add (local.get $ptap) (local.get $inCellBytes)))
                      (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
                      (br $tapLoop))))
                  (else
                    (local.set $ptap (i32.add (local.get $ptap)
                      (i32.mul (local.get $filterWidth) (local.get $inCellBytes))))))
                (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
                (br $tapRowLoop)))))
            (local.set $pdy (i32.add (local.get $pdy) (i32.const 4)))
            (local.set $co (i32.add (local.get $co) (i32.const 1)))
            (br $outLoop)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $colLoop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $rowLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $batchLoop)))
  )
  ;; Gradient of a convolution with respect to its filter when the input has one channel
  ;; (the first layer on grey images): for each output cell and each filter tap whose
  ;; input cell exists, filter[tap, :] += x[input cell] * dy[cell, :], four output channels
  ;; per instruction. The filter gradient (a few hundred floats) stays in L1 throughout.
  ;;   x: [batch, height, width, 1]   dy: [batch, outHeight, outWidth, outChannels]
  ;;   dw: [filterHeight, filterWidth, 1, outChannels], zeroed here
  (func (export "conv2dBackpropFilterC1")
    (param $x i32) (param $dy i32) (param $dw i32)
    (param $batch i32) (param $height i32) (param $width i32)
    (param $outHeight i32) (param $outWidth i32) (param $outChannels i32)
    (param $filterHeight i32) (param $filterWidth i32)
    (param $strideHeight i32) (param $strideWidth i32) (param $padTop i32) (param $padLeft i32)
    (local $cellBytes i32) (local $b i32) (local $oh i32) (local $ow i32)
    (local $kh i32) (local $kw i32) (local $ih i32) (local $iw i32) (local $c i32)
    (local $pdy i32) (local $image i32) (local $row i32) (local $ptap i32) (local $xv v128)
    (local.set $cellBytes (i32.shl (local.get $outChannels) (i32.const 2)))
    (memory.fill (local.get $dw) (i32.const 0)
      (i32.mul (i32.mul (local.get $filterHeight) (local.get $filterWidth)) (local.get $cellBytes)))
    (local.set $pdy (local.get $dy))
    (local.set $b (i32.const 0))
    (block $batchDone (loop $batchLoop
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $image (i32.add (local.get $x)
        (i32.shl (i32.mul (i32.mul (local.get $b) (local.get $height)) (local.get $width)) (i32.const 2))))
      (local.set $oh (i32.const 0))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $oh) (local.get $outHeight)))
        (local.set $ow (i32.const 0))
        (block $colsDone (loop $colLoop
          (br_if $colsDone (i32.ge_u (local.get $ow) (local.get $outWidth)))
          (local.set $ptap (local.get $dw))
          (local.set $kh (i32.const 0))
          (block $tapRowsDone (loop $tapRowLoop
            (br_if $tapRowsDone (i32.ge_u (local.get $kh) (local.get $filterHeight)))
            (local.set $ih (i32.sub
              (i32.add (i32.mul (local.get $oh) (local.get $strideHeight)) (local.get $kh))
              (local.get $padTop)))
            (if (i32.lt_u (local.get $ih) (local.get $height))
              (then
                (local.set $row (i32.add (local.get $image)
                  (i32.shl (i32.mul (local.get $ih) (local.get $width)) (i32.const 2))))
                (local.set $kw (i32.const 0))
                (block $tapsDone (loop $tapLoop
                  (br_if $tapsDone (i32.ge_u (local.get $kw) (local.get $filterWidth)))
                  (local.set $iw (i32.sub
                    (i32.add (i32.mul (local.get $ow) (local.get $strideWidth)) (local.get $kw))
                    (local.get $padLeft)))
                  (if (i32.lt_u (local.get $iw) (local.get $width)) (then
                    (local.set $xv (v128.load32_splat
                      (i32.add (local.get $row) (i32.shl (local.get $iw) (i32.const 2)))))
                    (local.set $c (i32.const 0))
                    (block $chanDone (loop $chanLoop
                      (br_if $chanDone (i32.ge_u (local.get $c) (local.get $cellBytes)))
                      (v128.store (i32.add (local.get $ptap) (local.get $c))
                        (f32x4.add
                          (v128.load (i32.add (local.get $ptap) (local.get $c)))
                          (f32x4.mul (local.get $xv) (v128.load (i32.add (local.get $pdy) (local.get $c))))))
                      (local.set $c (i32.add (local.get $c) (i32.const 16)))
                      (br $chanLoop)))))
                  (local.set $ptap (i32.add (local.get $ptap) (local.get $cellBytes)))
                  (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
                  (br $tapLoop))))
              (else
                (local.set $ptap (i32.add (local.get $ptap)
                  (i32.mul (local.get $filterWidth) (local.get $cellBytes))))))
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
)
