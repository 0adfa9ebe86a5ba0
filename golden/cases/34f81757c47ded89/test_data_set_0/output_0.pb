
Boutput_0J1¼Ã*