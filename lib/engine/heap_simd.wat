;; The loops of our wasm kernels (wasm_kernels.ts) in wasm, over the tfjs
;; wasm backend's own memory (heap byte offsets in, nothing copied): the
;; pooling gradient, the column sums and the transposes' 4 x 4 tiles in
;; 128-bit SIMD, and the run copies of slices, concatenations and
;; transposes. Each computes exactly what its JavaScript twin in
;; heap_loops.ts computes, in the same order, or moves bits unchanged
;; (heap_simd_test.ts). heap_simd.ts assembles this text with wabt when the
;; wasm backend starts and imports the backend's memory; the line below is
;; replaced by a shared memory import on the threaded build.
(module
  (import "env" "memory" (memory 1))

  ;; The 2x2, stride-2, valid max-pooling gradient, as heap_loops.ts's
  ;; maxPoolGrad2x2: each window's gradient goes to its first maximum in
  ;; row-major order (strict >, so ties and NaN keep the earlier element),
  ;; its other three elements get +0, and g + 0 turns a -0 gradient into +0.
  ;; x, dx: [b, h, w, c] float32 at byte offsets $x, $dx; g: [b, h/2, w/2, c]
  ;; at $g. c must be a multiple of 4. Rows and columns in no window (odd
  ;; h, w) are not written.
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $g i32) (param $dx i32)
    (param $b i32) (param $h i32) (param $w i32) (param $c i32)
    (local $pix i32) (local $row i32) (local $oh i32) (local $ow i32)
    (local $img i32) (local $i i32) (local $j i32)
    (local $p i32) (local $q i32) (local $end i32) (local $to i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $later v128)
    (local $gz v128)
    (local.set $pix (i32.shl (local.get $c) (i32.const 2))) ;; bytes a pixel
    (local.set $row (i32.mul (local.get $w) (local.get $pix))) ;; bytes a row
    (local.set $oh (i32.shr_u (local.get $h) (i32.const 1)))
    (local.set $ow (i32.shr_u (local.get $w) (i32.const 1)))
    ;; dx's byte offset minus x's: the same element of both.
    (local.set $to (i32.sub (local.get $dx) (local.get $x)))
    (local.set $img (i32.const 0))
    (block $images (loop $image
      (br_if $images (i32.ge_u (local.get $img) (local.get $b)))
      (local.set $i (i32.const 0))
      (block $rows (loop $window_row
        (br_if $rows (i32.ge_u (local.get $i) (local.get $oh)))
        ;; The first element of the row's first window: x[img, 2i, 0, 0].
        (local.set $p
          (i32.add (local.get $x)
            (i32.mul
              (i32.add (i32.mul (local.get $img) (local.get $h))
                (i32.shl (local.get $i) (i32.const 1)))
              (local.get $row))))
        (local.set $j (i32.const 0))
        (block $windows (loop $window
          (br_if $windows (i32.ge_u (local.get $j) (local.get $ow)))
          (local.set $q (local.get $p))
          (local.set $end (i32.add (local.get $p) (local.get $pix)))
          (block $channels (loop $four
            (br_if $channels (i32.ge_u (local.get $q) (local.get $end)))
            ;; The window's four elements in row-major order, 4 channels.
            (local.set $x0 (v128.load (local.get $q)))
            (local.set $x1
              (v128.load (i32.add (local.get $q) (local.get $pix))))
            (local.set $x2
              (v128.load (i32.add (local.get $q) (local.get $row))))
            (local.set $x3
              (v128.load
                (i32.add (i32.add (local.get $q) (local.get $row))
                  (local.get $pix))))
            ;; c1: x1 beats x0; c2: x2 beats the maximum so far; c3: x3 does.
            (local.set $c1 (f32x4.gt (local.get $x1) (local.get $x0)))
            (local.set $x1
              (v128.bitselect (local.get $x1) (local.get $x0) (local.get $c1)))
            (local.set $c2 (f32x4.gt (local.get $x2) (local.get $x1)))
            (local.set $x2
              (v128.bitselect (local.get $x2) (local.get $x1) (local.get $c2)))
            (local.set $c3 (f32x4.gt (local.get $x3) (local.get $x2)))
            (local.set $gz
              (f32x4.add (v128.load (local.get $g)) (v128.const i32x4 0 0 0 0)))
            ;; The element that wins is the last one that beat the maximum.
            (local.set $later (v128.or (local.get $c2) (local.get $c3)))
            (v128.store (i32.add (local.get $q) (local.get $to))
              (v128.andnot (local.get $gz)
                (v128.or (local.get $c1) (local.get $later))))
            (v128.store
              (i32.add (i32.add (local.get $q) (local.get $to))
                (local.get $pix))
              (v128.andnot (v128.and (local.get $gz) (local.get $c1))
                (local.get $later)))
            (v128.store
              (i32.add (i32.add (local.get $q) (local.get $to))
                (local.get $row))
              (v128.andnot (v128.and (local.get $gz) (local.get $c2))
                (local.get $c3)))
            (v128.store
              (i32.add
                (i32.add (i32.add (local.get $q) (local.get $to))
                  (local.get $row))
                (local.get $pix))
              (v128.and (local.get $gz) (local.get $c3)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (local.set $g (i32.add (local.get $g) (i32.const 16)))
            (br $four)))
          (local.set $p
            (i32.add (local.get $p) (i32.shl (local.get $pix) (i32.const 1))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $window)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $window_row)))
      (local.set $img (i32.add (local.get $img) (i32.const 1)))
      (br $image)))
  )

  ;; Column sums of src viewed as [rows, cols] into out, as heap_loops.ts's
  ;; sumColumns: out cleared to +0, then each row added in order, each add
  ;; rounded to float32 (f32x4.add is four IEEE float32 adds). src, out:
  ;; float32 at byte offsets $src, $out; cols must be a multiple of 4.
  (func (export "sumColumns")
    (param $src i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $o i32) (local $end i32) (local $r i32)
    (local.set $end
      (i32.add (local.get $out) (i32.shl (local.get $cols) (i32.const 2))))
    (local.set $o (local.get $out))
    (block $cleared (loop $clear
      (br_if $cleared (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (local.get $o) (v128.const i32x4 0 0 0 0))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $clear)))
    (local.set $r (i32.const 0))
    (block $summed (loop $row
      (br_if $summed (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $o (local.get $out))
      (block $row_done (loop $four
        (br_if $row_done (i32.ge_u (local.get $o) (local.get $end)))
        (v128.store (local.get $o)
          (f32x4.add (v128.load (local.get $o)) (v128.load (local.get $src))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $four)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row)))
  )
;; Runs of $run bytes, n0 x n1 x n2 of them, copied from byte offset
  ;; $src + i0*s0 + i1*s1 + i2*s2 to $dst + i0*d0 + i1*d1 + i2*d2, in that
  ;; order. Our Slice copies its runs with it (strided source, contiguous
  ;; output), our Concat each input's rows into the output's (contiguous
  ;; source, strided output): a new tensor, so runs never overlap.
;; $n bytes from $from to $to (not overlapping): 16 at a time when $n is a
  ;; multiple of 16 (a loop beats memory.copy's call on runs of a few
  ;; hundred bytes), else memory.copy.
  (func $copy (param $to i32) (param $from i32) (param $n i32)
    (local $end i32)
    (if (i32.and (local.get $n) (i32.const 15))
      (then
        (memory.copy (local.get $to) (local.get $from) (local.get $n))
        (return)))
    (local.set $end (i32.add (local.get $from) (local.get $n)))
    (block $done (loop $sixteen
      (br_if $done (i32.ge_u (local.get $from) (local.get $end)))
      (v128.store (local.get $to) (v128.load (local.get $from)))
      (local.set $from (i32.add (local.get $from) (i32.const 16)))
      (local.set $to (i32.add (local.get $to) (i32.const 16)))
      (br $sixteen)))
  )

  (func (export "copyRuns")
    (param $src i32) (param $s0 i32) (param $s1 i32) (param $s2 i32)
    (param $dst i32) (param $d0 i32) (param $d1 i32) (param $d2 i32)
    (param $n0 i32) (param $n1 i32) (param $n2 i32) (param $run i32)
    (local $i0 i32) (local $i1 i32) (local $i2 i32)
    (local $a1 i32) (local $b1 i32) (local $a2 i32) (local $b2 i32)
    (local.set $i0 (i32.const 0))
    (block $done0 (loop $l0
      (br_if $done0 (i32.ge_u (local.get $i0) (local.get $n0)))
      (local.set $a1 (local.get $src))
      (local.set $b1 (local.get $dst))
      (local.set $i1 (i32.const 0))
      (block $done1 (loop $l1
        (br_if $done1 (i32.ge_u (local.get $i1) (local.get $n1)))
        (local.set $a2 (local.get $a1))
        (local.set $b2 (local.get $b1))
        (local.set $i2 (i32.const 0))
        (block $done2 (loop $l2
          (br_if $done2 (i32.ge_u (local.get $i2) (local.get $n2)))
          (call $copy (local.get $b2) (local.get $a2) (local.get $run))
          (local.set $a2 (i32.add (local.get $a2) (local.get $s2)))
          (local.set $b2 (i32.add (local.get $b2) (local.get $d2)))
          (local.set $i2 (i32.add (local.get $i2) (i32.const 1)))
          (br $l2)))
        (local.set $a1 (i32.add (local.get $a1) (local.get $s1)))
        (local.set $b1 (i32.add (local.get $b1) (local.get $d1)))
        (local.set $i1 (i32.add (local.get $i1) (i32.const 1)))
        (br $l1)))
      (local.set $src (i32.add (local.get $src) (local.get $s0)))
      (local.set $dst (i32.add (local.get $dst) (local.get $d0)))
      (local.set $i0 (i32.add (local.get $i0) (i32.const 1)))
      (br $l0)))
  )
;; n transposes of R x C blocks of 32-bit elements: for o < n, r < R,
  ;; c < C, the element at $src + o*so + r*sr + c*4 goes to $dst + o*do +
  ;; c*dr + r*4 (byte offsets and strides), bits unchanged. 4 x 4 tiles
  ;; through shuffles, the edges (R or C not a multiple of 4) one element at
  ;; a time. Our Transpose runs a 2-D transpose (n = 1) and the 3-D ones
  ;; [2, 1, 0] and [0, 2, 1] with it.
  (func (export "transposeBlocks")
    (param $src i32) (param $so i32) (param $sr i32)
    (param $dst i32) (param $do i32) (param $dr i32)
    (param $n i32) (param $R i32) (param $C i32)
    (local $o i32) (local $r i32) (local $c i32) (local $r4 i32) (local $c4 i32)
    (local $a i32) (local $b i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $r4 (i32.and (local.get $R) (i32.const -4)))
    (local.set $c4 (i32.and (local.get $C) (i32.const -4)))
    (local.set $o (i32.const 0))
    (block $blocks (loop $block
      (br_if $blocks (i32.ge_u (local.get $o) (local.get $n)))
      ;; Rows in fours: whole tiles, then the row group's last columns.
      (local.set $r (i32.const 0))
      (block $tile_rows (loop $tile_row
        (br_if $tile_rows (i32.ge_u (local.get $r) (local.get $r4)))
        (local.set $c (i32.const 0))
        (block $tiles (loop $tile
          (br_if $tiles (i32.ge_u (local.get $c) (local.get $c4)))
          ;; a: element (r, c) of the source; b: element (c, r) of the output.
          (local.set $a
            (i32.add (i32.add (local.get $src)
              (i32.mul (local.get $r) (local.get $sr)))
              (i32.shl (local.get $c) (i32.const 2))))
          (local.set $b
            (i32.add (i32.add (local.get $dst)
              (i32.mul (local.get $c) (local.get $dr)))
              (i32.shl (local.get $r) (i32.const 2))))
          (local.set $v0 (v128.load (local.get $a)))
          (local.set $v1 (v128.load (i32.add (local.get $a) (local.get $sr))))
          (local.set $v2 (v128.load
            (i32.add (local.get $a) (i32.shl (local.get $sr) (i32.const 1)))))
          (local.set $v3 (v128.load
            (i32.add (local.get $a) (i32.mul (local.get $sr) (i32.const 3)))))
          ;; t0 = v0[0] v1[0] v0[1] v1[1], t1 = v0[2] v1[2] v0[3] v1[3], ...
          (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
            (local.get $v0) (local.get $v1)))
          (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
            (local.get $v0) (local.get $v1)))
          (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
            (local.get $v2) (local.get $v3)))
          (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
            (local.get $v2) (local.get $v3)))
          ;; Column j of the tile: v0[j] v1[j] v2[j] v3[j].
          (v128.store (local.get $b)
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $b) (local.get $dr))
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31
              (local.get $t0) (local.get $t2)))
          (v128.store
            (i32.add (local.get $b) (i32.shl (local.get $dr) (i32.const 1)))
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (local.get $t1) (local.get $t3)))
          (v128.store
            (i32.add (local.get $b) (i32.mul (local.get $dr) (i32.const 3)))
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31
              (local.get $t1) (local.get $t3)))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br $tile)))
        (call $elements (local.get $src) (local.get $sr) (local.get $dst)
          (local.get $dr) (local.get $r) (i32.add (local.get $r) (i32.const 4))
          (local.get $c4) (local.get $C))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $tile_row)))
      ;; The last rows, every column.
      (call $elements (local.get $src) (local.get $sr) (local.get $dst)
        (local.get $dr) (local.get $r4) (local.get $R) (i32.const 0)
        (local.get $C))
      (local.set $src (i32.add (local.get $src) (local.get $so)))
      (local.set $dst (i32.add (local.get $dst) (local.get $do)))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (br $block)))
  )

  ;; One block's elements (r, c) for r0 <= r < r1, c0 <= c < c1, one at a time
  ;; (i32 loads and stores: the bits move unchanged).
  (func $elements
    (param $src i32) (param $sr i32) (param $dst i32) (param $dr i32)
    (param $r0 i32) (param $r1 i32) (param $c0 i32) (param $c1 i32)
    (local $r i32) (local $c i32)
    (local.set $r (local.get $r0))
    (block $rows (loop $row
      (br_if $rows (i32.ge_u (local.get $r) (local.get $r1)))
      (local.set $c (local.get $c0))
      (block $cols (loop $col
        (br_if $cols (i32.ge_u (local.get $c) (local.get $c1)))
        (i32.store
          (i32.add (i32.add (local.get $dst)
            (i32.mul (local.get $c) (local.get $dr)))
            (i32.shl (local.get $r) (i32.const 2)))
          (i32.load
            (i32.add (i32.add (local.get $src)
              (i32.mul (local.get $r) (local.get $sr)))
              (i32.shl (local.get $c) (i32.const 2)))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $col)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row)))
  )
)
