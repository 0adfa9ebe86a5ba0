
Binput_1J :ß¹º°N=À¨7