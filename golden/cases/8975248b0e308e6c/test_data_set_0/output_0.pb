
Boutput_0J ÆBKEÈ@êDFJ6IšJ<HÏ82HÇI†BG`IPEÎM