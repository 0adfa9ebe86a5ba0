
Boutput_1J󨨺4