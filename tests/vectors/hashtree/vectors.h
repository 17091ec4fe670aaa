/* Made by tests/vectors/hashtree/make.sh with veritysetup 2.6.1 flags: UDEV BLKID KEYRING KERNEL_CAPI . */
static const struct vt_vector {
	const char *name;
	uint64_t blocks;
	uint32_t data_block_size, hash_block_size;
	const char *salt; /* hex, "" for none */
	uint64_t tree_size;
	const char *root, *tree_sha256;
} vt_vectors[] = {
	{ "one", 1, 4096, 4096, "5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1", 0,
	  "520e7926e725cbdaf2db459321d463f718156552700880abd45878d464324def",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "odd13", 13, 4096, 4096, "5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1", 4096,
	  "a3e26e0f8bce0ff8279072266e3f1830a0b8717038a7986e80957380d053a311",
	  "4fa540f00bee3f2af19378a3cee1aefd69a7358850c39c44f7e447538c5fd874" },
	{ "full128", 128, 4096, 4096, "5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1", 4096,
	  "05d81e4bef192150251ca27f65219421b53aea906163cd33f8050cabfbbcacdd",
	  "80a84f840badf3f2862bb347aba23ac2450269da875f6633cd46c654a105b08d" },
	{ "two129", 129, 4096, 4096, "5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1", 12288,
	  "2dfc4664c64b57613d6af9347b1a872f152217fbd5060b3f0e39e3ee188f53ea",
	  "c85ad34ed997fee538c17ac99d9b4e1246ff795744d0f2b536812acc6dbda068" },
	{ "three16385", 16385, 4096, 4096, "5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1", 540672,
	  "cababf1ed609dcf576f632269623974d6249ad99d33417f823c45cfb2f08b960",
	  "7e926de0dbe692b4b422a60055faadf0c88321def67289b25c18debd055ab275" },
	{ "nosalt", 300, 4096, 4096, "", 16384,
	  "7d44f4d9083bcb19424d472309b6b34e3baa746c491ad144e3d523b2e53fa17b",
	  "bb18c10f9b6e6a027a982bfaeffddc64d068c39ea16d92dc9edbf06d04f73b60" },
	{ "salt7", 77, 4096, 4096, "00112233445566", 4096,
	  "26f363f619dc465b0319cab96168240da1a566bf8cc14cfb3fa382cc51eaf0b2",
	  "2321979201ba1d954a287f16dff3ee8a14611166867a2e474a29b0d020f66dc2" },
	{ "salt100", 77, 4096, 4096, "abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab", 4096,
	  "3f96cffc31ecbf4abdd445f1fd2f794ac801957df834fb8d4eb3fd22286c740f",
	  "f8c1ee4f3be8a0bfeb5f0dbea9d81d1b22fcd73edad3c81b5c4ad138e678ecee" },
	{ "small", 1000, 1024, 512, "0102030405060708090a0b0c0d0e0f10", 34816,
	  "56be8538bc29a864b62e5a076b3716b4af5cfd71b5024977f4216111444e0ebc",
	  "cf6d8034ffb8c0bfd281325b21d42e65a09732ad2cf15059fecbe61570f3b9b4" },
	{ "big", 100, 65536, 65536, "ff", 65536,
	  "4ae530114f852dc39f511b74a1eb0f65c2ca9eaac455aff23550df291e4432be",
	  "17ba8db0fe40c34dc4836341faf60cad43a4110ebe61b9f6e473d2d19c684530" },
};
