;; Rampart's hand-written WebAssembly SIMD kernels. They run on the TF.js wasm backend's
;; own memory (imported as env.memory), so they read and write tensors in place: every
;; pointer below is a byte offset of a tensor in that heap.
;;
;; Assembled by `npm run build:wasm` (scripts/build-wasm.ts) into kernels-wasm.ts, which
;; is committed; a test checks that the committed binary matches this source.
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
)
