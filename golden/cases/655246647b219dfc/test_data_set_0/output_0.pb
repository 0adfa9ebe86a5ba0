
Boutput_0Jd<·