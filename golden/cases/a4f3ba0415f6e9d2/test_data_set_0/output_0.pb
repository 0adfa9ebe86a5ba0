
Boutput_0J³;6 CÁ