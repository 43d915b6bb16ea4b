/* Keeps a library buildable while its modules are being written. */
typedef int dho_empty_unit;
