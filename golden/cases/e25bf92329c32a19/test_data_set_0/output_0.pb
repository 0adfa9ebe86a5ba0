
Boutput_0JX´(.$,±ø¶5