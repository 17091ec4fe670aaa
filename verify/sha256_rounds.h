/* sealinit verify/: the 64 rounds of one SHA-256 block as 16 groups of
 * four, shared by the SHA-NI (sha256_x86.c) and ARMv8 crypto-extension
 * (sha256_arm64.c) code.  The includer defines RND4(s0, s1, w, g) -- four
 * rounds with message words w and constants K[4g..4g+3] -- and
 * SCHED(a, b, c, d) -- the next four message words into a from the last
 * sixteen (a, b, c, d oldest first); w0..w3 rotate through the schedule. */
#ifndef SEALINIT_VERIFY_SHA256_ROUNDS_H
#define SEALINIT_VERIFY_SHA256_ROUNDS_H

#define ROUNDS64(s0, s1, w0, w1, w2, w3)                                 \
	do {                                                             \
		RND4(s0, s1, w0, 0); RND4(s0, s1, w1, 1);                \
		RND4(s0, s1, w2, 2); RND4(s0, s1, w3, 3);                \
		SCHED(w0, w1, w2, w3); RND4(s0, s1, w0, 4);              \
		SCHED(w1, w2, w3, w0); RND4(s0, s1, w1, 5);              \
		SCHED(w2, w3, w0, w1); RND4(s0, s1, w2, 6);              \
		SCHED(w3, w0, w1, w2); RND4(s0, s1, w3, 7);              \
		SCHED(w0, w1, w2, w3); RND4(s0, s1, w0, 8);              \
		SCHED(w1, w2, w3, w0); RND4(s0, s1, w1, 9);              \
		SCHED(w2, w3, w0, w1); RND4(s0, s1, w2, 10);             \
		SCHED(w3, w0, w1, w2); RND4(s0, s1, w3, 11);             \
		SCHED(w0, w1, w2, w3); RND4(s0, s1, w0, 12);             \
		SCHED(w1, w2, w3, w0); RND4(s0, s1, w1, 13);             \
		SCHED(w2, w3, w0, w1); RND4(s0, s1, w2, 14);             \
		SCHED(w3, w0, w1, w2); RND4(s0, s1, w3, 15);             \
	} while (0)

#endif
