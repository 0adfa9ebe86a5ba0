Boutput_0JH÷B?Ò©Å@;yŸ?ı
?