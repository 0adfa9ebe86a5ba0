
Boutput_1J<*1µ­