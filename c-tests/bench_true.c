/* The smallest dynamically linked program: process start-up cost with and
 * without the preloaded shim (benches/limits.rs). */
int main(void) { return 0; }
