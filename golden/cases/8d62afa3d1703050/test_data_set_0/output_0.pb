
Boutput_0J1<Ã*