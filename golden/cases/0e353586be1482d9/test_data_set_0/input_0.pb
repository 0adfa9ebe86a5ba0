
Binput_0Jk.œ2ÔÆ03/µEW½H»Â(±»ÃAF¿