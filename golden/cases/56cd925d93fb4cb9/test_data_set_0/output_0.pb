
Boutput_0Jr;i:¸j°:°Ì/