
Boutput_0Jª3±»9p±.>