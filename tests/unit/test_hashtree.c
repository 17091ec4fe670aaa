/* Unit tests for verify/hashtree: geometry, trees byte-identical to
 * veritysetup's (tests/vectors/hashtree/), every error code with its
 * diagnostic, and the streaming pieces. */
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "tests/unit/t.h"
#include "verify/hashtree.h"
#include "verify/sha256.h"

#include "tests/vectors/hashtree/vectors.h"

/* The data make.sh feeds veritysetup: block j = j (LE64), then
 * (k*7 + j*13) mod 256 for byte k >= 8. */
static uint8_t *gen_data(uint64_t blocks, uint32_t bs)
{
	uint8_t *p = malloc((size_t)(blocks * bs));
	uint64_t j;
	uint32_t k;

	if (!p) {
		perror("malloc");
		exit(2);
	}
	for (j = 0; j < blocks; j++) {
		uint8_t *b = p + j * bs;

		si_put_le64(b, j);
		for (k = 8; k < bs; k++)
			b[k] = (uint8_t)(k * 7 + j * 13);
	}
	return p;
}

static void test_geom(void)
{
	static const struct {
		uint64_t blocks;
		uint32_t dbs, hbs;
		int err;
		unsigned levels;
		uint64_t tree_blocks;
	} c[] = {
		{ 1, 4096, 4096, 0, 0, 0 },
		{ 2, 4096, 4096, 0, 1, 1 },
		{ 128, 4096, 4096, 0, 1, 1 },
		{ 129, 4096, 4096, 0, 2, 3 },
		{ 16384, 4096, 4096, 0, 2, 129 },
		{ 16385, 4096, 4096, 0, 3, 132 },
		{ 262144, 4096, 4096, 0, 3, 2048 + 16 + 1 }, /* 1 GiB */
		{ 17, 512, 512, 0, 2, 3 },
		{ 1000, 1024, 512, 0, 3, 68 },
		{ 1, 65536, 65536, 0, 0, 0 },
		{ 0, 4096, 4096, SI_E_VT_GEOM, 0, 0 },
		{ 1, 256, 4096, SI_E_VT_GEOM, 0, 0 },
		{ 1, 4096, 256, SI_E_VT_GEOM, 0, 0 },
		{ 1, 131072, 4096, SI_E_VT_GEOM, 0, 0 },
		{ 1, 4096, 131072, SI_E_VT_GEOM, 0, 0 },
		{ 1, 4095, 4096, SI_E_VT_GEOM, 0, 0 },
		{ 1, 4096, 6144, SI_E_VT_GEOM, 0, 0 },
		{ 1ULL << 52, 4096, 4096, SI_E_VT_TOO_BIG, 0, 0 }, /* 2^64 bytes */
		{ UINT64_MAX, 512, 512, SI_E_VT_TOO_BIG, 0, 0 },
	};
	size_t i;

	for (i = 0; i < SI_ARRAY_SIZE(c); i++) {
		struct vt_geom g;
		int r;

		memset(&g, 0x5a, sizeof g);
		r = vt_geom_init(c[i].blocks, c[i].dbs, c[i].hbs, &g);
		T_CHECK(r == c[i].err, "geom %zu: got %s want %s", i, si_err_name(r),
			si_err_name(c[i].err));
		if (r) {
			T_CHECK(g.data_blocks == 0x5a5a5a5a5a5a5a5aULL, "geom %zu: written on error", i);
			continue;
		}
		T_CHECK(g.levels == c[i].levels, "geom %zu: levels %u", i, g.levels);
		T_CHECK(g.tree_blocks == c[i].tree_blocks, "geom %zu: tree_blocks %llu", i,
			(unsigned long long)g.tree_blocks);
		T_EQ(g.tree_size, g.tree_blocks * c[i].hbs);
	}

	/* Three levels, top first: 1, 2, 129 blocks. */
	{
		struct vt_geom g;

		T_OK(vt_geom_init(16385, 4096, 4096, &g));
		T_EQ(g.level_start[0], 0);
		T_EQ(g.level_blocks[0], 1);
		T_EQ(g.level_start[1], 1);
		T_EQ(g.level_blocks[1], 2);
		T_EQ(g.level_start[2], 3);
		T_EQ(g.level_blocks[2], 129);
	}
	/* 2^51 blocks of 4 KiB (8 EiB): no overflow, 8 levels. */
	{
		struct vt_geom g;

		T_OK(vt_geom_init(1ULL << 51, 4096, 4096, &g));
		T_EQ(g.levels, 8);
		T_EQ(g.level_blocks[0], 1);
		T_EQ(g.level_blocks[7], 1ULL << 44);
	}
	T_ERR(vt_geom_init(1, 4096, 4096, NULL), SI_E_ARG);
}

static size_t salt_of(const char *hex, uint8_t *salt)
{
	size_t n = strlen(hex) / 2;

	if (si_unhex(salt, n, hex, strlen(hex))) {
		fprintf(stderr, "bad salt in vectors\n");
		exit(2);
	}
	return n;
}

/* Our tree and root equal veritysetup's, with 1, 3 and all threads, and
 * on the portable code too for the multi-level cases. */
static void test_vectors(void)
{
	size_t i;

	for (i = 0; i < SI_ARRAY_SIZE(vt_vectors); i++) {
		const struct vt_vector *v = &vt_vectors[i];
		static const unsigned th[] = { 1, 3, 0 };
		uint8_t salt[VT_MAX_SALT], root[32], tsha[32];
		char hex[65];
		size_t salt_len = salt_of(v->salt, salt), t;
		struct vt_geom g;
		uint8_t *data = gen_data(v->blocks, v->data_block_size), *tree;

		T_OK(vt_geom_init(v->blocks, v->data_block_size, v->hash_block_size, &g));
		T_CHECK(g.tree_size == v->tree_size, "%s: tree size %llu, veritysetup %llu",
			v->name, (unsigned long long)g.tree_size, (unsigned long long)v->tree_size);
		tree = malloc((size_t)g.tree_size + 1);
		for (t = 0; t < SI_ARRAY_SIZE(th) + 1; t++) {
			int portable = t == SI_ARRAY_SIZE(th);

			if (portable && g.levels < 2)
				break;
			si_sha256_force_portable(portable);
			memset(tree, 0xa5, (size_t)g.tree_size + 1);
			memset(root, 0, sizeof root);
			T_OK(vt_tree_build(&g, salt, salt_len, data, tree, root,
					   portable ? 2 : th[t]));
			si_hex(hex, root, 32);
			T_CHECK(!strcmp(hex, v->root), "%s threads %u%s: root %s, veritysetup %s",
				v->name, portable ? 2 : th[t], portable ? " portable" : "", hex,
				v->root);
			si_sha256(tree, (size_t)g.tree_size, tsha);
			si_hex(hex, tsha, 32);
			T_CHECK(!strcmp(hex, v->tree_sha256), "%s threads %u%s: tree bytes differ",
				v->name, portable ? 2 : th[t], portable ? " portable" : "");
			T_CHECK(tree[g.tree_size] == 0xa5, "%s: wrote past the tree", v->name);
			T_OK(vt_tree_verify(&g, salt, salt_len, data, tree, root,
					    portable ? 2 : th[t], NULL));
		}
		si_sha256_force_portable(0);
		free(tree);
		free(data);
	}
}

struct flip_case {
	const char *what;
	int in_tree;  /* flip in the tree (1) or the data (0) */
	uint64_t at;  /* byte offset of the flipped bit */
	uint64_t at2; /* a second flip, or UINT64_MAX */
	int err;
	uint64_t diag_off;
};

/* One flipped bit anywhere is caught, with the error and offset that name
 * the changed block. */
static void test_flips(void)
{
	uint8_t salt[32], root[32], bad_root[32];
	struct vt_geom g;
	uint8_t *data, *tree;
	const uint64_t bs = 4096, blocks = 16385;
	/* three levels: top at 0, middle blocks 1..2, leaves 3..131 */
	const struct flip_case c[] = {
		{ "first data block", 0, 0, UINT64_MAX, SI_E_SEAL_DATA_CORRUPT, 0 },
		{ "data block 5000", 0, 5000 * bs + 77, UINT64_MAX, SI_E_SEAL_DATA_CORRUPT, 5000 * bs },
		{ "last data block", 0, blocks * bs - 1, UINT64_MAX, SI_E_SEAL_DATA_CORRUPT,
		  (blocks - 1) * bs },
		{ "two data blocks: the first is named", 0, 9000 * bs + 5, 300 * bs + 4095,
		  SI_E_SEAL_DATA_CORRUPT, 300 * bs },
		{ "top block", 1, 100, UINT64_MAX, SI_E_SEAL_ROOT_MISMATCH, 0 },
		{ "top block padding", 1, 4095, UINT64_MAX, SI_E_SEAL_ROOT_MISMATCH, 0 },
		{ "middle block 2", 1, 2 * bs + 1, UINT64_MAX, SI_E_SEAL_TREE_CORRUPT, 2 * bs },
		{ "middle block padding", 1, 2 * bs + 64, UINT64_MAX, SI_E_SEAL_TREE_CORRUPT, 2 * bs },
		{ "leaf block 3 (first)", 1, 3 * bs + 31, UINT64_MAX, SI_E_SEAL_TREE_CORRUPT, 3 * bs },
		{ "leaf block 131 (last) padding", 1, 131 * bs + 4000, UINT64_MAX,
		  SI_E_SEAL_TREE_CORRUPT, 131 * bs },
		{ "leaf and data: the tree is named", 1, 50 * bs, 10 * bs, SI_E_SEAL_TREE_CORRUPT,
		  50 * bs },
	};
	static const unsigned th[] = { 1, 2, 0 };
	size_t i, t;

	memset(salt, 0x5e, sizeof salt);
	T_OK(vt_geom_init(blocks, 4096, 4096, &g));
	data = gen_data(blocks, 4096);
	tree = malloc((size_t)g.tree_size);
	T_OK(vt_tree_build(&g, salt, sizeof salt, data, tree, root, 0));

	for (i = 0; i < SI_ARRAY_SIZE(c); i++)
		for (t = 0; t < SI_ARRAY_SIZE(th); t++) {
			/* for the mixed case, at2 flips in the data */
			uint8_t *p = c[i].in_tree ? tree : data;
			uint8_t *p2 = c[i].in_tree && c[i].at2 != UINT64_MAX && i == SI_ARRAY_SIZE(c) - 1
					      ? data : p;
			struct si_diag d;
			int r;

			si_diag_clear(&d);
			p[c[i].at] ^= 0x10;
			if (c[i].at2 != UINT64_MAX)
				p2[c[i].at2] ^= 0x01;
			r = vt_tree_verify(&g, salt, sizeof salt, data, tree, root, th[t], &d);
			T_CHECK(r == c[i].err, "%s (threads %u): got %s want %s", c[i].what, th[t],
				si_err_name(r), si_err_name(c[i].err));
			if (c[i].err != SI_E_SEAL_ROOT_MISMATCH)
				T_CHECK((d.flags & SI_DIAG_OFFSET) && d.offset == c[i].diag_off,
					"%s (threads %u): offset %llu want %llu", c[i].what, th[t],
					(unsigned long long)d.offset,
					(unsigned long long)c[i].diag_off);
			T_CHECK(d.flags & SI_DIAG_TEXT, "%s: no expected/found digests", c[i].what);
			p[c[i].at] ^= 0x10;
			if (c[i].at2 != UINT64_MAX)
				p2[c[i].at2] ^= 0x01;
		}
	T_OK(vt_tree_verify(&g, salt, sizeof salt, data, tree, root, 0, NULL));

	/* A wrong root: both digests appear in the diagnostic, as hex. */
	{
		struct si_diag d;
		char want[65];

		memcpy(bad_root, root, 32);
		bad_root[31] ^= 1;
		si_diag_clear(&d);
		T_ERR(vt_tree_verify(&g, salt, sizeof salt, data, tree, bad_root, 0, &d),
		      SI_E_SEAL_ROOT_MISMATCH);
		si_hex(want, bad_root, 32);
		T_STREQ(d.expected_s, want);
		si_hex(want, root, 32);
		T_STREQ(d.found_s, want);
		T_STREQ(d.field, "root_hash");
	}
	/* Another salt is another tree. */
	salt[0] ^= 1;
	T_ERR(vt_tree_verify(&g, salt, sizeof salt, data, tree, root, 0, NULL),
	      SI_E_SEAL_ROOT_MISMATCH);
	salt[0] ^= 1;
	free(tree);
	free(data);

	/* One block: no tree, the data block hashes to the root directly. */
	{
		uint8_t *one = gen_data(1, 4096);

		T_OK(vt_geom_init(1, 4096, 4096, &g));
		T_OK(vt_tree_build(&g, salt, sizeof salt, one, NULL, root, 0));
		T_OK(vt_tree_verify(&g, salt, sizeof salt, one, NULL, root, 0, NULL));
		one[4095] ^= 0x80;
		T_ERR(vt_tree_verify(&g, salt, sizeof salt, one, NULL, root, 0, NULL),
		      SI_E_SEAL_ROOT_MISMATCH);
		free(one);
	}
}

/* Part of the data: the whole stored tree is checked, and the blocks of
 * the range; a block outside it may differ (it is not read), a block
 * inside may not, and the tree may not anywhere. */
static void test_range(void)
{
	uint8_t salt[16], root[32];
	const uint64_t blocks = 700; /* two levels of 4096-byte blocks */
	struct vt_geom g;
	uint8_t *data, *tree;
	struct si_diag d;
	unsigned t;

	memset(salt, 0x21, sizeof salt);
	T_OK(vt_geom_init(blocks, 4096, 4096, &g));
	data = gen_data(blocks, 4096);
	tree = malloc((size_t)g.tree_size);
	T_OK(vt_tree_build(&g, salt, sizeof salt, data, tree, root, 0));
	for (t = 0; t < 2; t++) {
		unsigned th = t ? 2 : 1;

		T_OK(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, 0, blocks, th, NULL));
		T_OK(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, 10, 0, th, NULL));
		data[200 * 4096 + 9] ^= 4; /* block 200 */
		T_OK(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, 0, 200, th, NULL));
		T_OK(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, 201, blocks - 201, th, NULL));
		si_diag_clear(&d);
		T_ERR(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, 150, 51, th, &d),
		      SI_E_SEAL_DATA_CORRUPT);
		T_EQ(d.offset, 200 * 4096);
		T_ERR(vt_tree_verify(&g, salt, sizeof salt, data, tree, root, th, NULL), SI_E_SEAL_DATA_CORRUPT);
		data[200 * 4096 + 9] ^= 4;
		/* the tree is checked whatever the range: a leaf block that
		 * covers none of the range's blocks, and the top */
		tree[(size_t)g.level_start[1] * 4096 + 4096 + 5] ^= 1; /* the second leaf block: data blocks 128.. */
		T_ERR(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, 0, 1, th, NULL),
		      SI_E_SEAL_TREE_CORRUPT);
		T_ERR(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, 0, 0, th, NULL),
		      SI_E_SEAL_TREE_CORRUPT);
		tree[(size_t)g.level_start[1] * 4096 + 4096 + 5] ^= 1;
		tree[7] ^= 1;
		T_ERR(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, 0, 0, th, NULL),
		      SI_E_SEAL_ROOT_MISMATCH);
		tree[7] ^= 1;
	}
	/* outside the data */
	T_ERR(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, blocks, 1, 1, NULL), SI_E_ARG);
	T_ERR(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, 1, blocks, 1, NULL), SI_E_ARG);
	T_ERR(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, UINT64_MAX, 2, 1, NULL), SI_E_ARG);
	T_OK(vt_tree_verify_range(&g, salt, sizeof salt, data, tree, root, blocks, 0, 1, NULL));
	free(tree);
	free(data);
}

static void test_args(void)
{
	uint8_t salt[VT_MAX_SALT + 1] = { 0 }, root[32], tree[4096];
	uint8_t *data = gen_data(13, 4096);
	struct vt_geom g, bad;

	T_OK(vt_geom_init(13, 4096, 4096, &g));
	T_OK(vt_tree_build(&g, salt, VT_MAX_SALT, data, tree, root, 1));
	T_OK(vt_tree_verify(&g, salt, VT_MAX_SALT, data, tree, root, 1, NULL));
	T_ERR(vt_tree_build(&g, salt, VT_MAX_SALT + 1, data, tree, root, 1), SI_E_VT_SALT);
	T_ERR(vt_tree_verify(&g, salt, VT_MAX_SALT + 1, data, tree, root, 1, NULL), SI_E_VT_SALT);
	T_ERR(vt_tree_build(&g, NULL, 4, data, tree, root, 1), SI_E_ARG);
	T_ERR(vt_tree_build(NULL, salt, 4, data, tree, root, 1), SI_E_ARG);
	T_ERR(vt_tree_build(&g, salt, 4, NULL, tree, root, 1), SI_E_ARG);
	T_ERR(vt_tree_build(&g, salt, 4, data, NULL, root, 1), SI_E_ARG);
	T_ERR(vt_tree_verify(&g, salt, 4, data, NULL, root, 1, NULL), SI_E_ARG);
	/* A geometry not made by vt_geom_init is refused, not trusted. */
	bad = g;
	bad.tree_size = 8192;
	T_ERR(vt_tree_verify(&bad, salt, 4, data, tree, root, 1, NULL), SI_E_ARG);
	bad = g;
	bad.levels = 2;
	T_ERR(vt_tree_build(&bad, salt, 4, data, tree, root, 1), SI_E_ARG);
	bad = g;
	bad.data_blocks = 0;
	T_ERR(vt_tree_build(&bad, salt, 4, data, tree, root, 1), SI_E_ARG);
	T_ERR(vt_hash_blocks(&g, salt, 4, 10, 4, data, tree, 1), SI_E_ARG);
	T_ERR(vt_hash_blocks(&g, salt, 4, UINT64_MAX, 2, data, tree, 1), SI_E_ARG);
	free(data);
}

/* Streaming: blocks hashed in pieces, out of order, then finished, give
 * the same tree as vt_tree_build, padding zeroed over stale bytes. */
static void test_streaming(void)
{
	const uint64_t blocks = 1000;
	uint8_t salt[32], r1[32], r2[32];
	uint8_t *data = gen_data(blocks, 4096), *t1, *t2;
	struct vt_geom g;
	uint64_t at;

	memset(salt, 0x33, sizeof salt);
	T_OK(vt_geom_init(blocks, 4096, 4096, &g));
	t1 = malloc((size_t)g.tree_size);
	t2 = malloc((size_t)g.tree_size);
	T_OK(vt_tree_build(&g, salt, sizeof salt, data, t1, r1, 0));
	memset(t2, 0xff, (size_t)g.tree_size);
	for (at = blocks; at > 0;) {
		uint64_t n = at >= 77 ? 77 : at;

		at -= n;
		T_OK(vt_hash_blocks(&g, salt, sizeof salt, at, n, data + at * 4096, t2, 2));
	}
	T_OK(vt_tree_finish(&g, salt, sizeof salt, NULL, t2, r2, 2));
	T_MEMEQ(r1, r2, 32);
	T_MEMEQ(t1, t2, (size_t)g.tree_size);
	free(t1);
	free(t2);
	free(data);

	data = gen_data(1, 4096);
	T_OK(vt_geom_init(1, 4096, 4096, &g));
	T_OK(vt_hash_blocks(&g, salt, sizeof salt, 0, 1, data, NULL, 1));
	T_ERR(vt_tree_finish(&g, salt, sizeof salt, NULL, NULL, r2, 1), SI_E_ARG);
	T_OK(vt_tree_finish(&g, salt, sizeof salt, data, NULL, r2, 1));
	T_OK(vt_tree_build(&g, salt, sizeof salt, data, NULL, r1, 1));
	T_MEMEQ(r1, r2, 32);
	free(data);
}

int main(void)
{
	test_geom();
	test_vectors();
	test_flips();
	test_range();
	test_args();
	test_streaming();
	return t_done("hashtree");
}
