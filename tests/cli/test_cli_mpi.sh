#!/usr/bin/env bash
# Issue 18 §4: the pml tool under mpirun. Each fit on 1 and 3 ranks (each rank reading its share of the CSV
# file) gives the same labels and log-densities to 1e-9 relative as the one-process fit; rank 0 alone prints
# and saves; commands that do not shard refuse several ranks; an error in one rank's share is reported once,
# with the file's line. Usage: test_cli_mpi.sh PML MPIEXEC
set -u
pml=$1 mpiexec=$2
dir=$(mktemp -d) && trap 'rm -rf "$dir"' EXIT && cd "$dir" || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 PML_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
run() { "$mpiexec" --oversubscribe -np "$@"; }
failed=0
fail() { echo "FAIL: $*"; failed=1; }
# three clusters far from the origin (so a sum of squares about 0 would show), CRLF line ends, a header
awk 'BEGIN { srand(3); print "a,b,c\r"; for (i = 0; i < 3001; i++) { k = i % 3; printf "%.6f,%.6f,%.6f\r\n", 1000 + 5 * k + rand() * 2, -3 * k + rand() * 2, rand() * 3 + k } }' > d.csv
close() {  # close A B [TOLERANCE]: same line count, every number within 1e-9 (or TOLERANCE) relative
  awk -v tol="${3:-1e-9}" 'NR == FNR { a[FNR] = $0; n = FNR; next }
       { if (FNR > n) { bad = 1; exit } if ($0 != a[FNR]) { x = a[FNR] + 0; y = $0 + 0; d = x - y; if (d < 0) d = -d; m = (x < 0 ? -x : x); if (m < 1) m = 1; if (d > tol * m) { print "line " FNR ": " a[FNR] " vs " $0; bad = 1; exit } } c = FNR }
       END { if (c != n) bad = 1; exit bad }' "$1" "$2"
}
for covariance in full diagonal; do
  "$pml" gmm fit d.csv --components 3 --covariance $covariance --seed 4 -o one.pml 2> one.log || fail "gmm fit on one process"
  run 3 "$pml" gmm fit d.csv --components 3 --covariance $covariance --seed 4 -o three.pml > out.txt 2> three.log || fail "gmm fit on 3 ranks"
  [ "$(grep -c 'fitted a 3-component' three.log)" = 1 ] || fail "3 ranks: the fit's line is not printed once: $(cat three.log)"
  grep -q "to 3001 x 3 data" three.log || fail "3 ranks: the message does not count every rank's rows: $(cat three.log)"
  [ -s out.txt ] && fail "3 ranks printed to standard output"
  "$pml" gmm predict one.pml d.csv > l1 && "$pml" gmm predict three.pml d.csv > l3 && cmp -s l1 l3 || fail "gmm $covariance: labels differ"
  "$pml" gmm score one.pml d.csv > s1 && "$pml" gmm score three.pml d.csv > s3 && close s1 s3 || fail "gmm $covariance: log-densities differ"
done
"$pml" kmeans fit d.csv --clusters 3 --init 'k-means||' --seed 2 -o k1.pml 2> /dev/null && run 2 "$pml" kmeans fit d.csv --clusters 3 --init 'k-means||' --seed 2 -o k2.pml 2> /dev/null || fail "kmeans fit"
"$pml" kmeans predict k1.pml d.csv > l1 && "$pml" kmeans predict k2.pml d.csv > l2 && cmp -s l1 l2 || fail "kmeans: labels differ"
"$pml" pca fit d.csv --components 2 -o p1.pml 2> /dev/null && run 4 "$pml" pca fit d.csv --components 2 -o p4.pml 2> /dev/null || fail "pca fit"
"$pml" pca transform p1.pml d.csv > t1 && "$pml" pca transform p4.pml d.csv > t4 || fail "pca transform"
# a component's sign is not fixed by the data: compare magnitudes
tr -d - < t1 | tr , '\n' > a1 && tr -d - < t4 | tr , '\n' > a4 && close a1 a4 || fail "pca: projections differ"
# blr fit: the basis' centres spread over every rank's inputs (rbf with an open range), the evidence maximised on
# the summed statistics: the same predictions as one process to 1e-9
awk 'BEGIN { srand(7); print "x,t"; for (i = 0; i < 500; i++) { x = 1000 + rand() * 6; printf "%.6f,%.6f\n", x, sin(x - 1000) + 0.1 * (rand() - 0.5) } }' > xt.csv
awk 'BEGIN { print "x"; for (i = 0; i <= 60; i++) printf "%.4f\n", 999.5 + i * 0.12 }' > grid.csv
for b in poly:3 rbf:9:0.7; do
  "$pml" blr fit xt.csv --basis $b -o b1.pml 2> /dev/null && run 3 "$pml" blr fit xt.csv --basis $b -o b3.pml > out.txt 2> b3.log || fail "blr fit $b: $(cat b3.log)"
  [ "$(grep -c 'to 500 rows on 3 ranks' b3.log)" = 1 ] || fail "blr fit $b on 3 ranks: not one line counting every rank's rows: $(cat b3.log)"
  [ -s out.txt ] && fail "blr fit on 3 ranks printed to standard output"
  "$pml" blr predict b1.pml grid.csv | tr , '\n' > q1 && "$pml" blr predict b3.pml grid.csv | tr , '\n' > q3 && close q1 q3 || fail "blr $b: 1 and 3 ranks' predictions differ"
done
# vae train, data-parallel: 2 ranks of 6 rows per step and 3 ranks of 4 train the same network (global batch
# 12, each row's noise hashed from its position), so the encodings agree to float rounding
awk 'BEGIN { srand(5); print "p0,p1,p2,p3,p4,p5"; for (i = 0; i < 97; i++) { k = i % 2; printf "%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", k * 0.8 + rand() * 0.2, rand(), (1 - k) * 0.9, rand() * 0.5, k, 0.5 } }' > u.csv
run 2 "$pml" vae train --data u.csv --latent 2 --hidden 5 --epochs 3 --batch-size 6 --seed 3 -o v2.pml > out.txt 2> v2.log || fail "vae train on 2 ranks: $(cat v2.log)"
run 3 "$pml" vae train --data u.csv --latent 2 --hidden 5 --epochs 3 --batch-size 4 --seed 3 -o v3.pml 2> v3.log || fail "vae train on 3 ranks: $(cat v3.log)"
[ "$(grep -c 'trained a VAE on 97 x 6 data on 2 ranks' v2.log)" = 1 ] || fail "vae train on 2 ranks: not one line: $(cat v2.log)"
[ -s out.txt ] && fail "vae train on 2 ranks printed to standard output"
"$pml" vae encode v2.pml u.csv > e2 && "$pml" vae encode v3.pml u.csv > e3 && tr , '\n' < e2 > f2 && tr , '\n' < e3 > f3 && close f2 f3 1e-4 || fail "vae: 2 and 3 ranks' encodings differ"
# and as mpirun -np 1 with the whole minibatch of 12
run 1 "$pml" vae train --data u.csv --latent 2 --hidden 5 --epochs 3 --batch-size 12 --seed 3 -o v1.pml 2> v1.log || fail "vae train on 1 rank: $(cat v1.log)"
"$pml" vae encode v1.pml u.csv > e1 && tr , '\n' < e1 > f1 && close f1 f3 1e-4 || fail "vae: 1 rank of 12 and 3 ranks of 4 differ"
# mcdropout fit, data-parallel: 3 ranks of 4 rows a step and mpirun -np 1 of 12 train the same network
awk 'BEGIN { srand(9); print "a,b,t"; for (i = 0; i < 83; i++) { a = rand(); b = rand(); printf "%.5f,%.5f,%.5f\n", a, b, sin(3 * a) + b } }' > m.csv
run 3 "$pml" mcdropout fit m.csv --hidden 6 --dropout 0.2 --epochs 3 --batch-size 4 --seed 2 -o m3.pml > out.txt 2> m3.log || fail "mcdropout fit on 3 ranks: $(cat m3.log)"
run 1 "$pml" mcdropout fit m.csv --hidden 6 --dropout 0.2 --epochs 3 --batch-size 12 --seed 2 -o m1.pml 2> m1.log || fail "mcdropout fit on 1 rank: $(cat m1.log)"
[ "$(grep -c 'on 83 rows on 3 ranks' m3.log)" = 1 ] || fail "mcdropout fit on 3 ranks: not one line counting every rank's rows: $(cat m3.log)"
[ -s out.txt ] && fail "mcdropout fit on 3 ranks printed to standard output"
printf 'a,b\n0.2,0.7\n0.9,0.1\n' > mx.csv
"$pml" mcdropout predict m1.pml mx.csv --seed 1 | tr , '\n' > n1 && "$pml" mcdropout predict m3.pml mx.csv --seed 1 | tr , '\n' > n3 && close n1 n3 1e-9 || fail "mcdropout: 1 rank of 12 and 3 ranks of 4 differ"
# cnn fit and bcnn fit, data-parallel: 8 x 8 images of 3 classes in a CSV (pixels, then the label); 3 ranks of 4
# images a step and mpirun -np 1 of 12 train the same network (float: the class probabilities agree to 1e-4)
awk 'BEGIN { srand(11); for (j = 0; j < 64; j++) printf "p%d,", j; print "label";
             for (i = 0; i < 50; i++) { k = i % 3; for (j = 0; j < 64; j++) printf "%.3f,", (int(j / 8) % 3 == k ? 0.7 : 0.1) + rand() * 0.3; print k } }' > img.csv
head -7 img.csv | cut -d, -f1-64 > img_x.csv
# points around four modes far from the origin (gan fit and infogan fit --body mlp)
awk 'BEGIN { srand(6); print "a,b"; for (i = 0; i < 61; i++) { k = i % 4; printf "%.5f,%.5f\n", 40 + 2 * (k % 2) + 0.05 * rand(), -7 + 2 * int(k / 2) + 0.05 * rand() } }' > ring.csv
for family in cnn bcnn; do
  if [ $family = cnn ]; then layers="--filters 3 --hidden 8 --dropout 0.3 --conv-dropout 0.1"; else layers="--filters 3 --hidden 8 --sampling flipout"; fi
  run 3 "$pml" $family fit --data img.csv --height 8 --width 8 --classes 3 --kernel 3 $layers --epochs 2 --batch-size 4 --seed 5 -o c3.pml > out.txt 2> c3.log || fail "$family fit on 3 ranks: $(cat c3.log)"
  run 1 "$pml" $family fit --data img.csv --height 8 --width 8 --classes 3 --kernel 3 $layers --epochs 2 --batch-size 12 --seed 5 -o c1.pml 2> c1.log || fail "$family fit on 1 rank: $(cat c1.log)"
  [ "$(grep -c 'on 50 images on 3 ranks' c3.log)" = 1 ] || fail "$family fit on 3 ranks: not one line counting every rank's images: $(cat c3.log)"
  [ -s out.txt ] && fail "$family fit on 3 ranks printed to standard output"
  "$pml" $family predict c1.pml img_x.csv --samples 3 --seed 1 | tr , '\n' > g1 && "$pml" $family predict c3.pml img_x.csv --samples 3 --seed 1 | tr , '\n' > g3 &&
    close g1 g3 1e-4 || fail "$family: 1 rank of 12 and 3 ranks of 4 differ"
  # --limit keeps the first images of the whole set, whichever rank holds them
  run 3 "$pml" $family fit --data img.csv --height 8 --width 8 --classes 3 --kernel 3 $layers --epochs 1 --batch-size 4 --limit 20 --seed 5 -o l3.pml 2> l3.log || fail "$family fit --limit on 3 ranks: $(cat l3.log)"
  [ "$(grep -c 'on 20 images on 3 ranks' l3.log)" = 1 ] || fail "$family fit --limit 20 on 3 ranks: $(cat l3.log)"
done
# dcgan fit and infogan fit (dcgan body) on the same images (the label column is optional and dropped): 3 ranks of 4
# and mpirun -np 1 of 12, batch norms synchronised over the ranks (float: the samples agree to 1e-3)
for family in dcgan infogan; do
  if [ $family = dcgan ]; then opts="--noise 3 --learning-rate 0.01"; else opts="--noise 3 --categorical 3 --continuous 1 --recognition-hidden 4"; fi
  run 3 "$pml" $family fit --data img.csv --height 8 --width 8 --generator-features 2 --discriminator-features 2 $opts --epochs 2 --batch-size 4 --seed 5 -o d3.pml > out.txt 2> d3.log || fail "$family fit on 3 ranks: $(cat d3.log)"
  run 1 "$pml" $family fit --data img.csv --height 8 --width 8 --generator-features 2 --discriminator-features 2 $opts --epochs 2 --batch-size 12 --seed 5 -o d1.pml 2> d1.log || fail "$family fit on 1 rank: $(cat d1.log)"
  [ "$(grep -c 'on 50 \(images\|rows\) on 3 ranks' d3.log)" = 1 ] || fail "$family fit on 3 ranks: not one line counting every rank's rows: $(cat d3.log)"
  [ -s out.txt ] && fail "$family fit on 3 ranks printed to standard output"
  "$pml" $family sample d1.pml -n 2 --seed 3 | tr , '\n' > e1 && "$pml" $family sample d3.pml -n 2 --seed 3 | tr , '\n' > e3 && close e1 e3 1e-3 || fail "$family: 1 rank of 12 and 3 ranks of 4 differ"
done
run 2 "$pml" dcgan fit --data img.csv --height 8 --width 8 --packing 2 --epochs 1 -o dp.pml 2> err.txt && fail "dcgan fit --packing 2 under mpirun"
[ "$(grep -c 'under mpirun neither can be used' err.txt)" = 1 ] || fail "dcgan fit --packing under mpirun: $(cat err.txt)"
# infogan with the mlp body on the CSV's rows
run 3 "$pml" infogan fit --data ring.csv --body mlp --noise 2 --categorical 4 --continuous 1 --generator-hidden 8 --discriminator-hidden 8 --recognition-hidden 4 --epochs 2 --batch-size 4 --seed 6 -o i3.pml 2> i3.log || fail "infogan --body mlp on 3 ranks: $(cat i3.log)"
run 1 "$pml" infogan fit --data ring.csv --body mlp --noise 2 --categorical 4 --continuous 1 --generator-hidden 8 --discriminator-hidden 8 --recognition-hidden 4 --epochs 2 --batch-size 12 --seed 6 -o i1.pml 2> i1.log || fail "infogan --body mlp on 1 rank: $(cat i1.log)"
"$pml" infogan sample i1.pml -n 3 --seed 2 | tr , '\n' > j1 && "$pml" infogan sample i3.pml -n 3 --seed 2 | tr , '\n' > j3 && close j1 j3 1e-3 || fail "infogan --body mlp: 1 rank of 12 and 3 ranks of 4 differ"
# a label that is not a class index in rank 2's share: every rank stops, the message (with the file's data row) once
sed '45s/,[0-9]*$/,1.5/' img.csv > img_bad.csv
run 3 "$pml" cnn fit --data img_bad.csv --height 8 --width 8 --classes 3 --kernel 3 --filters 2 --hidden 4 --epochs 1 -o cb.pml 2> err.txt && fail "cnn fit on a label of 1.5"
[ "$(grep -c "img_bad.csv' row 44: the label 1.5" err.txt)" = 1 ] && [ ! -e cb.pml ] || fail "cnn fit on a bad label: $(cat err.txt)"
# forecast fit: every rank reads the series and trains on its share of the windows
awk 'BEGIN { srand(4); print "t,y"; for (i = 0; i < 90; i++) printf "%d,%.5f\n", i, 500 + 0.2 * i + 3 * sin(i / 2) + rand() }' > s.csv
for method in bayes_by_backprop mc_dropout; do
  run 3 "$pml" forecast fit s.csv --method $method --window 6 --hidden 5 --epochs 2 --batch-size 4 --seed 3 -o f3.pml > out.txt 2> f3.log || fail "forecast fit $method on 3 ranks: $(cat f3.log)"
  run 1 "$pml" forecast fit s.csv --method $method --window 6 --hidden 5 --epochs 2 --batch-size 12 --seed 3 -o f1.pml 2> f1.log || fail "forecast fit $method on 1 rank: $(cat f1.log)"
  [ "$(grep -c 'on 90 values on 3 ranks' f3.log)" = 1 ] || fail "forecast fit on 3 ranks: not one line: $(cat f3.log)"
  [ -s out.txt ] && fail "forecast fit on 3 ranks printed to standard output"
  "$pml" forecast predict f1.pml s.csv --horizon 4 --samples 20 --seed 2 | tr , '\n' > h1 && "$pml" forecast predict f3.pml s.csv --horizon 4 --samples 20 --seed 2 | tr , '\n' > h3 &&
    close h1 h3 1e-7 || fail "forecast $method: 1 rank of 12 and 3 ranks of 4 differ"
done
# gan fit: 3 ranks of 4 slots an update and mpirun -np 1 of 12 train the same networks (float: samples agree to 1e-3)
for loss in non_saturating wasserstein_gp; do
  run 3 "$pml" gan fit ring.csv --loss $loss --generator-hidden 8 --discriminator-hidden 8 --steps 20 --discriminator-steps 2 --batch-size 4 --seed 2 -o g3.pml > out.txt 2> g3.log || fail "gan fit $loss on 3 ranks: $(cat g3.log)"
  run 1 "$pml" gan fit ring.csv --loss $loss --generator-hidden 8 --discriminator-hidden 8 --steps 20 --discriminator-steps 2 --batch-size 12 --seed 2 -o g1.pml 2> g1.log || fail "gan fit $loss on 1 rank: $(cat g1.log)"
  [ "$(grep -c 'on 61 x 2 data on 3 ranks' g3.log)" = 1 ] || fail "gan fit on 3 ranks: not one line counting every rank's rows: $(cat g3.log)"
  [ -s out.txt ] && fail "gan fit on 3 ranks printed to standard output"
  "$pml" gan sample g1.pml -n 5 --seed 4 | tr , '\n' > s1 && "$pml" gan sample g3.pml -n 5 --seed 4 | tr , '\n' > s3 && close s1 s3 1e-3 || fail "gan $loss: 1 rank of 12 and 3 ranks of 4 differ"
done
run 2 "$pml" gan fit ring.csv --packing 2 --steps 2 -o gp.pml 2> err.txt && fail "gan fit --packing 2 under mpirun"
[ "$(grep -c 'under mpirun neither can be used' err.txt)" = 1 ] || fail "gan fit --packing under mpirun: $(cat err.txt)"
sed '40s/.*/0.1,0.2,0.3,0.4,1.5,0.5/' u.csv > u_bad.csv
run 3 "$pml" vae train --data u_bad.csv --epochs 1 -o vb.pml 2> err.txt && fail "vae train on values outside [0, 1]"
[ "$(grep -c 'outside \[0, 1\] (data row 39)' err.txt)" = 1 ] && [ ! -e vb.pml ] || fail "vae train outside [0, 1]: $(cat err.txt)"
# one process only for the other commands; said once, exit code 2
run 2 "$pml" gmm predict one.pml d.csv > out.txt 2> err.txt
code=$?
[ $code -ne 0 ] || fail "gmm predict on 2 ranks succeeded"
[ "$(grep -c 'runs on one process only' err.txt)" = 1 ] || fail "gmm predict on 2 ranks: $(cat err.txt)"
# an unreadable field in rank 2's share: every rank stops, the message (with the file's line) once
sed '2900s/.*/1,oops,2\r/' d.csv > bad.csv
run 3 "$pml" gmm fit bad.csv --components 2 -o bad.pml 2> err.txt
[ -e bad.pml ] && fail "a model was saved from a file that cannot be read"
[ "$(grep -c "bad.csv' line 2900, column 2: cannot read 'oops' as a number (on rank 2 of 3)" err.txt)" = 1 ] || fail "bad field: $(cat err.txt)"
# errors every rank meets alike (a header only; one row for PCA) and one rank's own (rank 0 cannot save):
# one line each, the exit code of the failure
printf 'a,b\n' > header.csv
run 3 "$pml" gmm fit header.csv -o h.pml 2> err.txt && fail "a header-only file fitted"
[ "$(grep -c 'has a header but no data rows' err.txt)" = 1 ] && [ "$(grep -c '^pml' err.txt)" = 1 ] || fail "header only: $(cat err.txt)"
printf 'a,b\n1,2\n' > one.csv
run 4 "$pml" pca fit one.csv -o p.pml 2> err.txt && fail "PCA of one row fitted"
[ "$(grep -c '^pml pca fit: ' err.txt)" = 1 ] || fail "PCA of one row: $(cat err.txt)"
run 3 "$pml" kmeans fit d.csv --clusters 2 -o missing/k.pml 2> err.txt && fail "saved into a missing directory"
[ "$(grep -c "^pml kmeans fit: .*missing/k.pml.*(on rank 0 of 3)" err.txt)" = 1 ] && [ "$(grep -c '^pml' err.txt)" = 1 ] || fail "save failure: $(cat err.txt)"
exit $failed
